"""Every Midjourney operation through Studio and the real sandbox, over HTTP."""

import base64
import io
import re
from typing import Any

import requests
from PIL import Image, ImageDraw

from studio.generation.models import Job, ResultImage, Status
from tests.conftest import StudioServer, wait_for
from tests.factories import make_png


def hx(session: requests.Session, url: str, **kwargs: Any) -> requests.Response:
    return session.post(url, headers={"HX-Request": "true"}, timeout=15, **kwargs)


def imagine(server: StudioServer, session: requests.Session, project: Any, prompt: str) -> Job:
    response = hx(
        session,
        f"{server.url}/projects/{project.pk}/jobs/",
        data={"prompt": prompt, "aspect_ratio": "1:1", "mode": "fast"},
    )
    assert response.status_code == 201, response.text
    return finish(Job.objects.get(prompt=prompt, operation="imagine"))


def finish(job: Job) -> Job:
    """Wait until the job ends and, if it makes images, they are stored."""
    expected = 5 if job.has_grid and job.makes_images else (1 if job.makes_images else 0)

    def done() -> Job | None:
        job.refresh_from_db()
        if job.status in (Status.FAILED, Status.CANCELED):
            return job
        if job.makes_clips:
            wanted = len((job.output or {}).get("video_urls") or [None])
        else:
            wanted = expected
        if job.status == Status.COMPLETED and job.images.count() == wanted:
            return job
        return None

    finished = wait_for(done, timeout=90 if job.makes_clips else 40, what=f"{job} to finish")
    assert finished.status == Status.COMPLETED, finished.error
    return finished


def follow_up(
    server: StudioServer, session: requests.Session, job: Job, action: str, **data: str
) -> Job:
    response = hx(
        session, f"{server.url}/jobs/{job.pk}/follow-up/", data={"action": action, **data}
    )
    assert response.status_code == 201, response.text
    child = Job.objects.filter(parent=job).latest("created_at")
    assert child.root_id == job.root_id
    return finish(child)


def size_of(image: ResultImage) -> tuple[int, int]:
    with Image.open(image.file.path) as opened:
        return opened.size


def test_upscale_pan_zoom_and_vary_region_make_a_family(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    grid = imagine(server, session, project, "a lighthouse on a cliff")
    quadrant = grid.images.get(index=2)

    upscale = follow_up(server, session, grid, "upscale2")
    single = upscale.images.get()
    assert (single.width, single.height) == (2 * quadrant.width, 2 * quadrant.height)
    assert "pan_left" in upscale.output["actions"] and "upscale1" not in upscale.output["actions"]

    panned = follow_up(server, session, upscale, "pan_left")
    panned_grid = panned.grid_image
    assert panned_grid is not None and panned_grid.width > panned_grid.height  # wider to the left

    zoomed = follow_up(server, session, upscale, "outpaint_2x")
    assert zoomed.operation == "outpaint" and zoomed.parameters["zoom_ratio"] == "2"

    zoomed_up = follow_up(server, session, zoomed, "upscale1")
    base = zoomed_up.images.get()
    mask = Image.new("L", (base.width, base.height), 0)
    ImageDraw.Draw(mask).rectangle((10, 10, base.width // 3, base.height // 3), fill=255)
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    region = follow_up(
        server,
        session,
        zoomed_up,
        "inpaint",
        mask="data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
        prompt="a red door",
    )
    assert region.operation == "inpaint" and region.grid_image is not None

    page = session.get(f"{server.url}/jobs/{region.pk}/", timeout=10).text
    start = page.index('class="lineage"')
    lineage = page[start : page.index("</nav>", start)]
    for label in ("Imagine", "U2", "Zoom Out 2×", "U1", "Vary (Region)"):
        assert label in lineage
    assert page.count('class="tree-row') >= 6  # the whole family, with the pan branch

    # Small pictures (the tree's, the blend picker's, a project's cover) load the small
    # thumbnails, not the cards' 1024 px ones.
    tree = re.findall(r'<span class="tree-thumb"><img src="([^"]+)"', page)
    project_page = session.get(f"{server.url}/projects/{project.pk}/", timeout=10).text
    picker = re.findall(r'<label class="pick">.*?<img src="([^"]+)"', project_page)
    home = session.get(f"{server.url}/?all=1", timeout=10).text
    cover = re.findall(r'<span class="project-cover"><img src="([^"]+)"', home)
    assert len(tree) >= 6 and picker and cover
    for source in tree + picker + cover:
        assert re.fullmatch(r"/images/\d+/small/", source), source
    assert grid.grid_image is not None and grid.grid_image.width > 600
    small = session.get(f"{server.url}/images/{grid.grid_image.pk}/small/", timeout=10)
    with Image.open(io.BytesIO(small.content)) as picture:
        assert max(picture.size) <= 600


def test_variations_and_reroll_are_children_with_new_grids(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    grid = imagine(server, session, project, "a quiet harbour at dawn")

    variation = follow_up(server, session, grid, "variation3")
    reroll = follow_up(server, session, grid, "reroll", prompt="a quiet harbour at night")

    assert variation.parent_id == grid.pk and variation.parameters["index"] == "3"
    assert reroll.parameters["prompt"] == "a quiet harbour at night"
    grid_bytes = grid.grid_image.file.read()  # type: ignore[union-attr]
    assert variation.grid_image.file.read() != grid_bytes  # type: ignore[union-attr]
    assert reroll.grid_image.file.read() != grid_bytes  # type: ignore[union-attr]


def test_actions_a_result_does_not_offer_are_refused_and_nothing_is_made(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    grid = imagine(server, session, project, "a red fox in snow")

    for action in ("pan_left", "upscale7", "outpaint_2x", "inpaint", ""):
        response = hx(session, f"{server.url}/jobs/{grid.pk}/follow-up/", data={"action": action})
        assert response.status_code == 422
        assert "not offered for this result" in response.text
    assert not Job.objects.filter(parent=grid).exists()


def test_describe_returns_four_prompts_each_ready_to_imagine(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")

    response = hx(
        session,
        f"{server.url}/projects/{project.pk}/describe/",
        data={"mode": "fast"},
        files={"image": ("sunset.png", make_png(size=(640, 400), color="#e0603a"), "image/png")},
    )

    assert response.status_code == 201, response.text
    job = finish(Job.objects.get(operation="describe"))
    assert len(job.description_prompts) == 4
    page = session.get(f"{server.url}/projects/{project.pk}/", timeout=10).text
    assert page.count("data-imagine=") >= 4


def test_blend_mixes_uploads_and_a_result(server: StudioServer, project: Any, bob: Any) -> None:
    session = server.login("bob")
    grid = imagine(server, session, project, "a field of sunflowers")

    response = hx(
        session,
        f"{server.url}/projects/{project.pk}/blend/",
        data={"dimension": "landscape", "mode": "relax", "results": [str(grid.grid_image.pk)]},  # type: ignore[union-attr]
        files=[
            ("images", ("a.png", make_png(size=(512, 512), color="#1d4ed8"), "image/png")),
            ("images", ("b.png", make_png(size=(512, 512), color="#facc15"), "image/png")),
        ],
    )

    assert response.status_code == 201, response.text
    blend = finish(Job.objects.get(operation="blend"))
    assert blend.inputs.count() == 3
    assert blend.aspect_ratio == "3:2" and blend.process_mode == "relax"
    assert blend.grid_image is not None and blend.grid_image.width > blend.grid_image.height


def test_blend_needs_two_to_five_images(server: StudioServer, project: Any, bob: Any) -> None:
    session = server.login("bob")

    response = hx(
        session,
        f"{server.url}/projects/{project.pk}/blend/",
        data={"dimension": "square", "mode": "fast"},
        files=[("images", ("a.png", make_png(), "image/png"))],
    )

    assert response.status_code == 422
    assert "Blend takes 2 to 5 images; you picked 1." in response.text
    assert not Job.objects.filter(operation="blend").exists()


def test_seed_shows_the_grids_seed_with_a_copy_button(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    grid = imagine(server, session, project, "a tiny island --seed 1234")

    response = hx(session, f"{server.url}/jobs/{grid.pk}/seed/")

    assert response.status_code == 201
    seed = finish(Job.objects.get(operation="seed"))
    assert seed.seed_value.isdigit()
    card = session.get(f"{server.url}/jobs/{seed.pk}/", headers={"HX-Request": "true"}).text
    assert f'data-copy="{seed.seed_value}"' in card


def test_a_pending_job_is_canceled_at_the_provider(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    hx(
        session,
        f"{server.url}/projects/{project.pk}/jobs/",
        data={
            "prompt": "wait for me [sandbox:stay-pending]",
            "aspect_ratio": "1:1",
            "mode": "fast",
        },
    )
    job = Job.objects.get()
    wait_for(lambda: Job.objects.get(pk=job.pk).status == Status.SUBMITTED, what="submission")

    response = hx(session, f"{server.url}/jobs/{job.pk}/cancel/")

    assert response.status_code == 202
    wait_for(lambda: Job.objects.get(pk=job.pk).status == Status.CANCELED, what="the cancel")
