"""The newer edits through Studio and the real sandbox over HTTP: Retexture and Remove
background of any image (sent as its link), Edit on a canvas of an upload (LegNext's
upload-paint) and of one of LegNext's own grids (`edit`, whitelist-only: refused in
words people understand, the hold released)."""

import base64
import html
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image, ImageDraw

from studio.billing.models import EntryKind, LedgerEntry
from studio.generation.models import Job, Operation, Status
from studio.providers.legnext import NO_EDIT
from tests.conftest import StudioServer, wait_for
from tests.generation.test_legnext_flow import charged
from tests.generation.test_operations import finish, hx, imagine


def work(server: StudioServer, session: Any, project: Any, operation: str, **fields: str) -> Any:
    return hx(session, f"{server.url}/projects/{project.pk}/images/{operation}/", data=fields)


def canvas_fields(width: int = 1200, height: int = 800) -> dict[str, str]:
    """The image placed in the middle of a wider canvas; the margins and a square over
    the image painted (white = repaint)."""
    placed = {"x": 300, "y": 100, "width": 600, "height": 600}
    mask = Image.new("L", (width, height), 255)
    ImageDraw.Draw(mask).rectangle((300, 100, 899, 699), fill=0)
    ImageDraw.Draw(mask).rectangle((500, 300, 700, 500), fill=255)
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    return {
        "canvas": json.dumps({"width": width, "height": height}),
        "placed": json.dumps(placed),
        "mask": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
    }


def test_retexture_of_an_upload_makes_a_grid_at_its_price(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any, input_image: Any
) -> None:
    session = server.login("bob")

    response = work(
        server, session, project, "retexture", source=f"input:{input_image.pk}", prompt="moss"
    )

    assert response.status_code == 201, response.text
    job = finish(Job.objects.get(operation=Operation.RETEXTURE))
    assert job.grid_image is not None and len(job.quadrant_images) == 4
    assert charged(job) == [Decimal("0.12")]


def test_retexture_without_a_prompt_is_refused_and_nothing_is_made(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any, input_image: Any
) -> None:
    session = server.login("bob")

    response = work(server, session, project, "retexture", source=f"input:{input_image.pk}")

    assert response.status_code == 422
    assert "Retexture needs a prompt" in html.unescape(response.text)
    assert not Job.objects.exists() and not LedgerEntry.objects.exists()


def test_removing_a_grid_images_background_keeps_a_transparent_png(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    grid = imagine(server, session, project, "a red kite on a plain sky")
    quadrant = grid.quadrant_image(2)
    assert quadrant is not None

    response = work(server, session, project, "remove_bg", source=f"result:{quadrant.pk}")

    assert response.status_code == 201, response.text
    cut = finish(Job.objects.get(operation=Operation.REMOVE_BACKGROUND))
    # Not a follow-up of the grid (LegNext takes an image link for it).
    assert cut.parent is None and cut.inputs.count() == 1
    stored = cut.images.get()
    assert stored.has_alpha
    with Image.open(stored.file.path) as image:
        assert image.format == "PNG" and image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0
    assert charged(cut) == [Decimal("0.08")]
    gallery = session.get(f"{server.url}/projects/{project.pk}/gallery/", timeout=15)
    assert f"/images/{stored.pk}/" in gallery.text


def test_editing_an_upload_on_a_canvas_repaints_at_the_canvas_shape(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any, input_image: Any
) -> None:
    session = server.login("bob")

    response = work(
        server,
        session,
        project,
        "edit",
        source=f"input:{input_image.pk}",
        prompt="a wider harbour",
        **canvas_fields(),
    )

    assert response.status_code == 201, response.text
    job = finish(Job.objects.get(operation=Operation.EDIT))
    assert job.aspect_ratio == "3:2"
    quadrant = job.quadrant_image(1)
    assert quadrant is not None and quadrant.width > quadrant.height
    assert charged(job) == [Decimal("0.12")]


def test_edit_of_a_legnext_grid_on_a_plan_without_it_says_so_and_is_not_charged(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    grid = imagine(server, session, project, "a stone bridge")
    quadrant = grid.quadrant_image(1)
    assert quadrant is not None
    assert any(action.name == "edit:1" for action in grid.actions)

    response = work(
        server,
        session,
        project,
        "edit",
        source=f"result:{quadrant.pk}",
        prompt="a wider river",
        **canvas_fields(),
    )

    assert response.status_code == 201, response.text
    job = Job.objects.get(operation=Operation.EDIT)
    assert job.parent == grid  # LegNext's own result: its `edit`, by job and image
    failed = wait_for(
        lambda: job if (job.refresh_from_db() or job.is_finished) else None,
        timeout=40,
        what="the edit to be refused",
    )
    assert failed.status == Status.FAILED and failed.error == NO_EDIT
    assert charged(failed) == []
    assert LedgerEntry.objects.filter(job=failed, kind=EntryKind.RELEASE).count() == 1
    page = html.unescape(session.get(f"{server.url}/jobs/{failed.pk}/", timeout=15).text)
    assert NO_EDIT in page and "Not charged" in page


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        ({"canvas": '{"width": 100, "height": 800}'}, "The canvas must be 500 to 4096 px a side"),
        ({"placed": '{"x": 5000, "y": 0, "width": 10, "height": 10}'}, "off the canvas"),
        ({"mask": ""}, "Paint the areas to repaint first."),
    ],
)
def test_a_bad_canvas_is_refused_and_nothing_is_made(
    server: StudioServer,
    legnext_only: Any,
    project: Any,
    bob: Any,
    input_image: Any,
    change: dict[str, str],
    sentence: str,
) -> None:
    session = server.login("bob")
    fields = {**canvas_fields(), **change}

    response = work(
        server, session, project, "edit", source=f"input:{input_image.pk}", prompt="x", **fields
    )

    assert response.status_code == 422
    assert sentence in html.unescape(response.text)
    assert not Job.objects.exists() and not LedgerEntry.objects.exists()
