"""What is asked before an image is animated, retextured or edited: Animate's and
Retexture's dialogs and Edit's canvas page (GET /projects/<id>/images/<operation>/), for
a result or an upload of the project only; and a refusal said in the form's own place."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from studio.generation.models import Job
from studio.inputs.models import InputImage
from studio.inputs.services import input_image_check_upload, input_images_saved
from tests.factories import make_key, make_legnext_grid, make_png, make_project
from tests.generation.test_image_work_buttons import legnext_grid

HX = {"HX-Request": "true"}


@pytest.fixture
def legnext(acme: Any) -> Any:
    return make_key(team=acme, provider="legnext", label="LegNext")


@pytest.fixture
def bob_client(client: Client, bob: Any) -> Client:
    client.force_login(bob)
    return client


@pytest.fixture
def grid(project: Any, bob: Any, legnext: Any) -> Job:
    return legnext_grid(project, bob, legnext)


@pytest.fixture
def upload(project: Any, bob: Any) -> InputImage:
    checked = input_image_check_upload(
        SimpleUploadedFile("wide.png", make_png(size=(900, 600)), "image/png")
    )
    with input_images_saved(project=project, user=bob, images=[checked]) as (image,):
        return image


def tile(grid: Job, number: int = 2) -> Any:
    image = grid.quadrant_image(number)
    assert image is not None
    return image


def test_the_canvas_editor_opens_on_a_result_at_its_pixel_size(
    bob_client: Client, project: Any, grid: Job
) -> None:
    image = tile(grid)

    response = bob_client.get(f"/projects/{project.pk}/images/edit/?source=result:{image.pk}")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1>Edit <span class="muted">· image 2</span></h1>' in html
    assert f'data-width="{image.width}" data-height="{image.height}"' in html
    assert f'<img id="canvas-image" src="/images/{image.pk}/full/"' in html
    assert f'<input type="hidden" name="source" value="result:{image.pk}">' in html
    assert f'hx-post="/projects/{project.pk}/images/edit/"' in html
    assert '<input type="hidden" name="open" value="1">' in html
    assert 'Generate <span class="cost">$0.12</span>' in html
    for shape in ("margin", "1:1", "4:3", "16:9", "9:16"):
        assert f'name="canvas-shape" value="{shape}"' in html
    assert f'href="/jobs/{grid.pk}/">Cancel</a>' in html
    assert "studio/canvas.js" in html


def test_the_canvas_editor_opens_on_an_upload(
    bob_client: Client, project: Any, legnext: Any, upload: InputImage
) -> None:
    response = bob_client.get(f"/projects/{project.pk}/images/edit/?source=input:{upload.pk}")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-width="900" data-height="600"' in html
    assert f'src="/inputs/images/{upload.pk}/"' in html
    assert f'value="input:{upload.pk}"' in html
    assert f'href="/projects/{project.pk}/">Cancel</a>' in html


def test_another_projects_image_is_not_found_and_a_viewer_is_refused(
    client: Client, project: Any, acme: Any, bob: Any, vera: Any, charlie: Any, legnext: Any
) -> None:
    other = make_project(team=acme, name="Elsewhere")
    elsewhere = tile(make_legnext_grid(project=other, user=bob, provider_key=legnext))
    mine = tile(legnext_grid(project, bob, legnext))
    client.force_login(bob)

    # An image of another project of the same team, named through this project.
    url = f"/projects/{project.pk}/images/edit/?source=result:{elsewhere.pk}"
    assert client.get(url).status_code == 404
    assert client.get(f"/projects/{project.pk}/images/edit/?source=nothing").status_code == 404
    mine_url = f"/projects/{project.pk}/images/edit/?source=result:{mine.pk}"
    client.force_login(charlie)  # another team: the project itself is not found
    assert client.get(mine_url).status_code == 404
    client.force_login(vera)  # a viewer of the team: may not spend
    assert client.get(mine_url).status_code == 403


def test_a_team_without_a_provider_for_it_gets_no_editor(
    bob_client: Client, project: Any, upload: InputImage
) -> None:
    # PiAPI only: nothing of the team edits on a canvas.
    response = bob_client.get(f"/projects/{project.pk}/images/edit/?source=input:{upload.pk}")

    assert response.status_code == 404


def test_the_animate_dialog_offers_motion_resolution_loop_and_an_end_frame(
    bob_client: Client, project: Any, grid: Job, bob: Any, legnext: Any
) -> None:
    image = tile(grid)
    older = legnext_grid(project, bob, legnext)

    response = bob_client.get(
        f"/projects/{project.pk}/images/animate/?source=result:{image.pk}", headers=HX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<dialog class="work-dialog" id="work-dialog" data-work-dialog')
    assert '<h2 id="work-dialog-title">Animate image 2</h2>' in html
    assert 'name="motion" value="low" checked' in html and 'name="motion" value="high"' in html
    assert '480p <small class="option-price">$0.48</small>' in html
    assert '720p <small class="option-price">$1.536</small>' in html
    assert 'name="loop" value="1"' in html
    assert '<input type="radio" name="end" value="" checked>' in html
    # The project's other images, newest first; never the one being animated.
    ends = [f'name="end" value="result:{tile(older, n).pk}"' for n in (1, 2, 3, 4)]
    assert all(end in html for end in ends)
    assert f'value="result:{image.pk}"' not in html.replace(
        f'name="source" value="result:{image.pk}"', ""
    )
    assert 'hx-target="#work-refusal"' in html
    assert '<span class="cost" data-resolution="720p">$1.536</span>' in html
    assert "Runs as a follow-up of its grid" in html


def test_the_retexture_dialog_asks_for_the_prompt(
    bob_client: Client, project: Any, legnext: Any, upload: InputImage
) -> None:
    response = bob_client.get(
        f"/projects/{project.pk}/images/retexture/?source=input:{upload.pk}", headers=HX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert '<h2 id="work-dialog-title">Retexture the image</h2>' in html
    assert '<textarea name="prompt" rows="3" maxlength="2500" required' in html
    assert 'Generate <span class="cost">$0.12</span>' in html
    assert "Runs in Fast mode." in html


def test_remove_background_has_no_form(bob_client: Client, project: Any, grid: Job) -> None:
    url = f"/projects/{project.pk}/images/remove_bg/?source=result:{tile(grid).pk}"

    assert bob_client.get(url).status_code == 404


def test_a_refusal_shows_in_the_dialog_and_nothing_is_made(
    bob_client: Client, project: Any, grid: Job
) -> None:
    headers = {**HX, "HX-Target": "work-refusal"}

    response = bob_client.post(
        f"/projects/{project.pk}/images/animate/",
        {"source": f"result:{tile(grid).pk}", "loop": "1", "end": f"result:{tile(grid, 3).pk}"},
        headers=headers,
    )

    assert response.status_code == 422
    assert "HX-Retarget" not in response.headers  # in place, not the page's toast
    assert response.content.decode() == (
        '<p class="field-error" role="alert">A loop ends where it began, so it cannot also '
        "end on another image: choose one.</p>"
    )
    assert not Job.objects.filter(operation="animate").exists()


def test_a_dialogs_animation_is_made_and_its_card_comes_back(
    bob_client: Client, project: Any, grid: Job
) -> None:
    response = bob_client.post(
        f"/projects/{project.pk}/images/animate/",
        {"source": f"result:{tile(grid).pk}", "motion": "high", "resolution": "720p"},
        headers={**HX, "HX-Target": "work-refusal"},
    )

    assert response.status_code == 201
    job = Job.objects.get(operation="animate")
    assert job.parent == grid and job.parameters["resolution"] == "720p"
    assert f'data-feed-entry="job-{job.pk}"' in response.content.decode()
