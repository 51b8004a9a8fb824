"""Animate…, Retexture…, Remove background and Edit… on every still image Studio holds:
each of a grid's four images and every single image, in the card's follow-ups and in the
lightbox, each with its price; where the image's own provider offers the work as a
follow-up, or one of the team's providers as new work. Not on clips or whole grids, not
for PiAPI-only teams, never for viewers; and in the composer's chooser for an upload."""

import re
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from studio.generation.models import Job, ResultImage, Status
from studio.providers.legnext import NO_EDIT
from tests.factories import make_job, make_key, make_legnext_grid, make_png

HX = {"HX-Request": "true"}
WORK = ("animate", "retexture", "remove_bg", "edit")


@pytest.fixture
def legnext(acme: Any) -> Any:
    return make_key(team=acme, provider="legnext", label="LegNext")


@pytest.fixture
def bob_client(client: Client, bob: Any) -> Client:
    client.force_login(bob)
    return client


def legnext_grid(project: Any, user: Any, key: Any) -> Job:
    """A LegNext grid as the worker leaves one: each image animatable by follow-up."""
    grid = make_legnext_grid(project=project, user=user, provider_key=key)
    grid.output["actions"] += [f"animate:{n}" for n in range(1, 5)]
    grid.save(update_fields=["output"])
    return grid


def piapi_result(project: Any, user: Any, *, operation: str = "imagine", **fields: Any) -> Job:
    """A finished PiAPI job with its images stored: a grid and its four, or one image."""
    actions = ["upscale1", "upscale2", "upscale3", "upscale4", "variation1", "reroll"]
    if operation != "imagine":
        actions = []
    job = make_job(
        project=project,
        user=user,
        operation=operation,
        provider="piapi",
        status=Status.COMPLETED,
        output={"actions": actions},
        **fields,
    )
    for index in range(5 if operation == "imagine" else 1):
        image = ResultImage(job=job, index=index, width=512, height=512)
        image.file.save(f"r-{job.pk}-{index}.png", ContentFile(make_png()), save=False)
        image.thumbnail.save(f"r-{job.pk}-{index}.webp", ContentFile(make_png()), save=False)
        image.save()
    return job


def card(client: Client, job: Job) -> str:
    response = client.get(f"/jobs/{job.pk}/", headers=HX)
    assert response.status_code == 200
    return response.content.decode()


def menu_of(html: str, number: int) -> str:
    start = html.index(f'class="image-menu image-menu-{number}"')
    return html[start : html.index("</section>", start)]


def work_buttons(html: str) -> dict[str, str]:
    """The image-work buttons in `html`: operation → the button's markup."""
    found = re.findall(r'<(?:a|button) [^>]*data-work="(\w+)".*?</(?:a|button)>', html, re.S)
    buttons = re.findall(r'(<(?:a|button) [^>]*data-work="\w+".*?</(?:a|button)>)', html, re.S)
    return dict(zip(found, buttons, strict=True))


def test_each_image_of_a_legnext_grid_offers_the_four_with_legnext_prices(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    grid = legnext_grid(project, bob, legnext)

    html = card(bob_client, grid)

    for number in range(1, 5):
        image = grid.quadrant_image(number)
        assert image is not None
        buttons = work_buttons(menu_of(html, number))
        assert list(buttons) == list(WORK)
        source = f"result%3A{image.pk}"
        animate = buttons["animate"]
        assert f'hx-get="/projects/{project.pk}/images/animate/?source={source}"' in animate
        assert 'hx-target="body" hx-swap="beforeend"' in animate
        assert '>Animate…<span class="act-price">from $0.48</span>' in animate
        assert f"Four short clips of image {number}" in animate
        assert '>Retexture…<span class="act-price">$0.12</span>' in buttons["retexture"]
        remove = buttons["remove_bg"]
        assert f'hx-post="/projects/{project.pk}/images/remove_bg/"' in remove
        assert f'{{"source": "result:{image.pk}"}}' in remove
        assert '>Remove background<span class="act-price">$0.08</span>' in remove
        edit = buttons["edit"]
        assert f'href="/projects/{project.pk}/images/edit/?source={source}"' in edit
        assert '>Edit…<span class="act-price">$0.12</span>' in edit
    # Animate opens its dialog: it is never a follow-up button that acts at once.
    assert '"action": "animate:' not in html


def test_a_turbo_grids_follow_up_is_priced_in_turbo(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    grid = legnext_grid(project, bob, legnext)
    Job.objects.filter(pk=grid.pk).update(process_mode="turbo")

    buttons = work_buttons(menu_of(card(bob_client, grid), 2))

    # Animate follows its grid (its mode, so twice the credits); the rest is new work.
    assert '<span class="act-price">from $0.96</span>' in buttons["animate"]
    assert '<span class="act-price">$0.12</span>' in buttons["retexture"]


def test_a_piapi_grids_images_offer_them_as_new_work_at_the_teams_legnext(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    grid = piapi_result(project, bob)

    html = card(bob_client, grid)

    # Each image gets its menu, its U and V kept beside what can be made from it.
    for number in range(1, 5):
        menu = menu_of(html, number)
        assert list(work_buttons(menu)) == list(WORK)
        assert '<span class="act-price">from $0.48</span>' in menu
        assert f'{{"action": "upscale{number}"}}' in menu
    assert f'id="remix-{grid.pk}-1" name="prompt"' in menu_of(html, 1)  # Vary's prompt
    assert html.count('data-action="reroll"') == 1


def test_a_single_image_offers_them_in_its_row(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    upscale = piapi_result(project, bob, operation="upscale")
    image = upscale.grid_image
    assert image is not None

    html = card(bob_client, upscale)

    row = html[html.index('class="btn-group group-work"') :]
    buttons = work_buttons(row)
    assert list(buttons) == list(WORK)
    assert f'{{"source": "result:{image.pk}"}}' in buttons["remove_bg"]
    assert "the image with its background cut out" in buttons["remove_bg"].lower()


def test_a_piapi_only_team_is_offered_none(bob_client: Client, project: Any, bob: Any) -> None:
    grid = piapi_result(project, bob)
    upscale = piapi_result(project, bob, operation="upscale")

    html = card(bob_client, grid) + card(bob_client, upscale)
    page = bob_client.get(f"/projects/{project.pk}/").content.decode()

    assert "data-work=" not in html
    assert "data-drop-work=" not in page
    # Its grids keep their one row of U and V.
    assert "image-menu" not in card(bob_client, grid)


def test_clips_whole_grids_and_unfinished_jobs_offer_nothing(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    running = make_job(project=project, user=bob, provider="legnext", status=Status.PROCESSING)
    clips = make_job(project=project, user=bob, provider="legnext", operation="animate")
    Job.objects.filter(pk=clips.pk).update(status=Status.COMPLETED)
    grid = legnext_grid(project, bob, legnext)

    html = card(bob_client, running) + card(bob_client, clips)
    sources = re.findall(r"source=result%3A(\d+)", card(bob_client, grid))

    assert "data-work=" not in html
    whole = grid.grid_image
    assert whole is not None and str(whole.pk) not in sources


def test_a_viewers_page_hides_them_with_every_spending_control(
    client: Client, project: Any, bob: Any, vera: Any, legnext: Any
) -> None:
    grid = legnext_grid(project, bob, legnext)
    client.force_login(vera)

    page = client.get(f"/projects/{project.pk}/").content.decode()

    # Cards are the same for everyone (they are pushed to the project): the page says
    # who is looking, and its stylesheet hides the card's follow-ups from viewers.
    assert 'data-may-generate="no"' in page
    start = page.index(f'id="job-{grid.pk}"')
    actions = page.index('class="card-actions"', start)
    assert start < actions < page.index('data-work="animate"', start)
    assert "data-drop-work=" not in page  # no composer at all
    stylesheet = open("static/studio/studio.css").read()
    assert '[data-may-generate="no"] .card-actions' in stylesheet
    # The lightbox, drawn for the one looking, has none of them.
    tile = grid.quadrant_image(1)
    assert tile is not None
    viewer = client.get(f"/images/{tile.pk}/view/", headers=HX).content.decode()
    assert "data-work=" not in viewer


def test_the_lightbox_lists_them_with_their_prices(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    grid = legnext_grid(project, bob, legnext)
    tile = grid.quadrant_image(3)
    assert tile is not None

    viewer = bob_client.get(f"/images/{tile.pk}/view/?from=feed", headers=HX).content.decode()

    row = viewer[viewer.index('class="action-row work-row"') :]
    buttons = work_buttons(row)
    assert list(buttons) == list(WORK)
    assert f"source=result%3A{tile.pk}" in buttons["animate"]
    assert '>Animate…<span class="act-price">from $0.48</span>' in buttons["animate"]
    assert '>Remove background<span class="act-price">$0.08</span>' in buttons["remove_bg"]
    # Animate shows there once, as the dialog's button.
    assert '"action": "animate:3"' not in viewer


def test_the_composers_chooser_offers_them_for_a_dropped_image(
    bob_client: Client, project: Any, legnext: Any
) -> None:
    page = bob_client.get(f"/projects/{project.pk}/").content.decode()

    chooser = page[page.index('id="drop-chooser"') : page.index('id="drop-status"')]
    choices = re.findall(r'data-drop-work="(\w+)" data-work-url="([^"]+)"', chooser)
    assert choices == [(name, f"/projects/{project.pk}/images/{name}/") for name in WORK]
    assert ">Animate… <small>from $0.48</small></button>" in chooser
    assert ">Remove background <small>$0.08</small></button>" in chooser


def test_a_failed_edit_says_in_full_that_the_plan_lacks_it_and_nothing_was_charged(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    job = make_job(
        project=project,
        user=bob,
        provider="legnext",
        operation="edit",
        aspect_ratio="16:9",
        status=Status.FAILED,
        error=NO_EDIT,
    )

    html = card(bob_client, job)

    assert f'<p class="job-error" role="alert">{NO_EDIT}</p>' in html
    assert "Not charged: the hold was released." in html
    assert NO_EDIT.endswith("or ask LegNext to enable it.")


def test_the_feed_reads_the_teams_providers_once_however_many_cards(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    def provider_reads() -> int:
        with CaptureQueriesContext(connection) as queries:
            html = bob_client.get(f"/projects/{project.pk}/").content.decode()
        assert html.count('data-work="animate"') == 4 * Job.objects.count()
        return sum("providerkey" in query["sql"] for query in queries)

    legnext_grid(project, bob, legnext)
    one_card = provider_reads()
    for _ in range(3):
        legnext_grid(project, bob, legnext)

    assert provider_reads() == one_card
