"""LegNext beside PiAPI: every operation LegNext offers, through Studio and the real
sandbox over HTTP; failover from a refused PiAPI key; follow-ups pinned to their parent's
provider and key; the money for each."""

import base64
import io
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image, ImageDraw

from studio.billing.models import EntryKind, LedgerEntry
from studio.generation.models import Job, Status
from tests.conftest import StudioServer
from tests.factories import make_key, make_png
from tests.generation.test_operations import finish, follow_up, hx, imagine


@pytest.fixture
def legnext_only(acme: Any) -> Any:
    """Acme's one key speaks LegNext."""
    acme.provider_keys.update(provider="legnext", label="LegNext")
    return acme


def charged(job: Job) -> list[Any]:
    return list(
        LedgerEntry.objects.filter(job=job, kind=EntryKind.CHARGE).values_list("amount", flat=True)
    )


def mask_of(job: Job, number: int) -> str:
    image = job.quadrant_image(number)
    assert image is not None
    mask = Image.new("L", (image.width, image.height), 0)
    ImageDraw.Draw(mask).rectangle((8, 8, image.width // 2, image.height // 2), fill=255)
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_legnext_grid_offers_per_image_follow_ups_and_each_makes_its_child(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    grid = imagine(server, session, project, "a lighthouse on a cliff")

    assert grid.provider == "legnext" and grid.provider_task_id
    assert [image.index for image in grid.images.order_by("index")] == [0, 1, 2, 3, 4]
    assert grid.seed_value.isdigit() and grid.shows_seed_without_asking
    names = [action.name for action in grid.actions]
    assert "reroll" in names and "upscale_subtle:2" in names and "region:4" in names
    assert len(charged(grid)) == 1

    upscale = follow_up(server, session, grid, "upscale_subtle:2")
    quadrant = grid.quadrant_image(2)
    single = upscale.images.get()
    assert quadrant is not None and single.width > quadrant.width
    assert upscale.step_label == "Upscale (Subtle) · image 2"

    creative = follow_up(server, session, grid, "upscale_creative:3")
    assert creative.images.count() == 1

    for name in ("vary_subtle:1", "vary_strong:2", "pan_left:1", "zoom_2:4", "reroll"):
        child = follow_up(server, session, grid, name)
        assert child.grid_image is not None, name
        assert child.provider == "legnext" and child.provider_key_id == grid.provider_key_id

    panned = Job.objects.get(parent=grid, operation="pan")
    wide = panned.grid_image
    assert wide is not None and wide.width > wide.height  # extended to the left

    custom = follow_up(server, session, grid, "zoom_custom:1", zoom="1.3")
    assert custom.parameters["zoom"] == "1.3" and custom.step_label == "Zoom Out 1.3× · image 1"

    remix = follow_up(server, session, grid, "remix_subtle:3", prompt="the lighthouse in snow")
    assert remix.operation == "remix" and remix.grid_image is not None

    region = follow_up(
        server, session, grid, "region:2", mask=mask_of(grid, 2), prompt="a red door"
    )
    assert region.operation == "inpaint" and region.grid_image is not None

    every_child = Job.objects.filter(parent=grid)
    assert all(child.status == Status.COMPLETED for child in every_child)
    # Each charged once, at LegNext's credit prices ($0.001 a credit).
    charges = {child.step_label: charged(child) for child in every_child}
    assert charged(grid) == [Decimal("0.08")]
    assert charges == {
        "Upscale (Subtle) · image 2": [Decimal("0.12")],
        "Upscale (Creative) · image 3": [Decimal("0.16")],
        "Vary (Subtle) · image 1": [Decimal("0.12")],
        "Vary (Strong) · image 2": [Decimal("0.12")],
        "Pan ← · image 1": [Decimal("0.08")],
        "Zoom Out 2× · image 4": [Decimal("0.08")],
        "Reroll": [Decimal("0.08")],
        "Zoom Out 1.3× · image 1": [Decimal("0.08")],
        "Remix (Subtle) · image 3": [Decimal("0.12")],
        "Vary (Region) · image 2": [Decimal("0.12")],
    }


def test_a_turbo_draft_costs_half_and_enhance_brings_an_image_to_full_quality(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    refused = hx(
        session,
        f"{server.url}/projects/{project.pk}/jobs/",
        data={"prompt": "a glass teapot --v 7 --draft", "aspect_ratio": "1:1", "mode": "turbo"},
    )
    assert "Turbo is not open to members in this team; choose Fast." in refused.text
    legnext_only.turbo_roles = "admin,member"
    legnext_only.save(update_fields=["turbo_roles"])
    response = hx(
        session,
        f"{server.url}/projects/{project.pk}/jobs/",
        data={"prompt": "a glass teapot --v 7 --draft", "aspect_ratio": "1:1", "mode": "turbo"},
    )
    assert response.status_code == 201, response.text
    draft = finish(Job.objects.get(operation="imagine"))

    assert "--turbo" not in draft.prompt and draft.process_mode == "turbo"
    assert charged(draft) == [Decimal("0.08")]  # turbo 0.16, halved for a draft
    assert "enhance:3" in [action.name for action in draft.actions]
    enhanced = follow_up(server, session, draft, "enhance:3")
    assert enhanced.images.count() == 1
    quadrant = draft.quadrant_image(3)
    assert quadrant is not None and enhanced.images.get().width > quadrant.width
    assert charged(enhanced) == [Decimal("0.16")]  # enhance 80 credits, turbo 2×


def test_a_remix_needs_a_prompt_and_a_custom_zoom_a_factor_in_range(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    grid = imagine(server, session, project, "a paper boat")
    url = f"{server.url}/jobs/{grid.pk}/follow-up/"

    no_prompt = hx(session, url, data={"action": "remix_strong:1"})
    too_far = hx(session, url, data={"action": "zoom_custom:1", "zoom": "2.5"})
    not_a_number = hx(session, url, data={"action": "zoom_custom:1", "zoom": "big"})
    a_piapi_name = hx(session, url, data={"action": "upscale2"})

    assert no_prompt.status_code == 422 and "needs a prompt" in no_prompt.text
    assert too_far.status_code == 422 and "from 1.1 to 2.0" in too_far.text
    assert not_a_number.status_code == 422 and "as a number" in not_a_number.text
    assert a_piapi_name.status_code == 422 and "not offered" in a_piapi_name.text
    assert not Job.objects.filter(parent=grid).exists()


def test_describe_blend_and_shorten_run_on_legnext(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any
) -> None:
    session = server.login("bob")

    described = hx(
        session,
        f"{server.url}/projects/{project.pk}/describe/",
        data={"mode": "fast"},
        files={"image": ("dune.png", make_png(size=(600, 400), color="#d08a3a"), "image/png")},
    )
    blended = hx(
        session,
        f"{server.url}/projects/{project.pk}/blend/",
        data={"dimension": "portrait", "mode": "fast"},
        files=[
            ("images", ("a.png", make_png(color="#1d4ed8"), "image/png")),
            ("images", ("b.png", make_png(color="#facc15"), "image/png")),
        ],
    )
    shortened = hx(
        session,
        f"{server.url}/projects/{project.pk}/shorten/",
        data={"prompt": "a very detailed and beautiful painting of a lighthouse at sunset"},
    )

    assert (described.status_code, blended.status_code, shortened.status_code) == (201, 201, 201)
    describe = finish(Job.objects.get(operation="describe"))
    assert describe.provider == "legnext" and len(describe.description_prompts) == 4
    blend = finish(Job.objects.get(operation="blend"))
    assert blend.grid_image is not None and blend.grid_image.height > blend.grid_image.width
    shorten = finish(Job.objects.get(operation="shorten"))
    assert shorten.output["description"] and "lighthouse" in shorten.output["prompts"]
    assert [charged(job) for job in (describe, blend, shorten)] == [
        [Decimal("0.02")],
        [Decimal("0.08")],
        [Decimal("0.02")],
    ]
    page = session.get(f"{server.url}/projects/{project.pk}/", timeout=10).text
    assert page.count("data-imagine=") >= 4


def test_relax_is_refused_on_legnext_not_run_as_fast(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any
) -> None:
    session = server.login("bob")

    response = hx(
        session,
        f"{server.url}/projects/{project.pk}/jobs/",
        data={"prompt": "a slow boat", "aspect_ratio": "1:1", "mode": "relax"},
    )

    assert response.status_code == 422
    assert "LegNext has no Relax mode; choose Fast or Turbo." in response.text
    assert not Job.objects.exists()


def test_a_refused_piapi_key_fails_over_to_legnext_and_follow_ups_stay_there(
    server: StudioServer, acme: Any, project: Any, bob: Any
) -> None:
    acme.provider_keys.all().delete()
    make_key(team=acme, provider="piapi", api_key="invalid-piapi-key")
    legnext = make_key(team=acme, provider="legnext", api_key="sandbox-legnext-key")
    session = server.login("bob")

    grid = imagine(server, session, project, "a kite over the dunes")

    assert (grid.provider, grid.provider_key_id) == ("legnext", legnext.pk)
    upscale = follow_up(server, session, grid, "upscale_subtle:1")
    assert (upscale.provider, upscale.provider_key_id) == ("legnext", legnext.pk)
    assert len(charged(grid)) == 1 and len(charged(upscale)) == 1


def test_a_follow_up_goes_to_its_parents_key_even_when_another_comes_first(
    server: StudioServer, acme: Any, project: Any, bob: Any
) -> None:
    piapi = acme.provider_keys.get()
    legnext = make_key(team=acme, provider="legnext", api_key="sandbox-legnext-key")
    session = server.login("bob")
    response = hx(
        session,
        f"{server.url}/projects/{project.pk}/jobs/",
        data={
            "prompt": "a green door",
            "aspect_ratio": "1:1",
            "mode": "fast",
            "provider": "legnext",
        },
    )
    assert response.status_code == 201, response.text
    grid = finish(Job.objects.get(prompt="a green door"))
    piapi_grid = imagine(server, session, project, "a blue door")

    child = follow_up(server, session, grid, "vary_strong:3")
    piapi_child = follow_up(server, session, piapi_grid, "upscale1")

    assert (grid.provider_key_id, child.provider_key_id) == (legnext.pk, legnext.pk)
    assert (piapi_grid.provider_key_id, piapi_child.provider_key_id) == (piapi.pk, piapi.pk)
    assert piapi_child.provider == "piapi" and child.provider == "legnext"


def test_an_unclear_legnext_create_is_confirmed_by_its_callback_and_charged_once(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any
) -> None:
    session = server.login("bob")

    grid = imagine(server, session, project, "a glass bird [sandbox:ambiguous-create]")

    assert grid.provider_task_id and grid.dispatch_attempts == 1
    assert len(charged(grid)) == 1


def test_a_legnext_job_at_the_provider_cannot_be_canceled_and_says_why(
    legnext_only: Any, project: Any, bob: Any, client: Any
) -> None:
    from tests.factories import make_job

    job = make_job(
        project=project,
        user=bob,
        provider="legnext",
        status=Status.SUBMITTED,
        provider_task_id="abc",
    )
    client.force_login(bob)

    response = client.post(f"/jobs/{job.pk}/cancel/", headers={"HX-Request": "true"})

    assert response.status_code == 422
    assert "LegNext cannot cancel a job once it has it" in response.content.decode()
    job.refresh_from_db()
    assert job.status == Status.SUBMITTED
