"""A LegNext grid's card: the provider it came from, a menu per image (upscale, vary,
pan, zoom, region, remix), what LegNext no longer allows greyed out with its reason, the
seed shown without asking, and no Cancel once LegNext has the job."""

import base64
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from studio.generation.models import Job, Status
from tests.factories import LEGNEXT_AVAILABLE, make_job, make_key, make_legnext_grid

HX = {"HX-Request": "true"}


@pytest.fixture
def legnext(acme: Any) -> Any:
    return make_key(team=acme, provider="legnext", label="LegNext")


@pytest.fixture
def grid(project: Any, bob: Any, legnext: Any) -> Job:
    return make_legnext_grid(project=project, user=bob, provider_key=legnext)


@pytest.fixture
def bob_client(client: Client, bob: Any) -> Client:
    client.force_login(bob)
    return client


def card(client: Client, job: Job) -> str:
    response = client.get(f"/jobs/{job.pk}/", headers=HX)
    assert response.status_code == 200
    return response.content.decode()


def menu_of(html: str, number: int) -> str:
    """The markup of image `number`'s menu."""
    start = html.index(f'class="image-menu image-menu-{number}"')
    return html[start : html.index("</section>", start)]


def test_a_legnext_grid_says_where_it_was_made(bob_client: Client, grid: Job) -> None:
    html = card(bob_client, grid)

    assert '<span class="chip provider-chip" title="Made through LegNext">LegNext</span>' in html
    assert "provider-legnext" in html


def test_each_image_has_its_own_menu_and_the_grid_one_picker(bob_client: Client, grid: Job) -> None:
    html = card(bob_client, grid)

    # One picker, 1–4, below the grid; a click on the grid's image opens it in the
    # lightbox (its menu is there too); reroll and seed act on the whole grid.
    for number in range(1, 5):
        image = grid.quadrant_image(number)
        assert image is not None
        assert f'id="pick-{grid.pk}-{number}" value="{number}"' in html
        assert f'hx-get="/images/{image.pk}/view/?from=feed"' in html
    assert html.count('data-action="reroll"') == 1
    image_2 = menu_of(html, 2)
    for name in (
        "upscale_subtle:2",
        "upscale_creative:2",
        "vary_subtle:2",
        "vary_strong:2",
        "pan_left:2",
        "pan_right:2",
        "pan_up:2",
        "pan_down:2",
        "zoom_1.5:2",
        "zoom_2:2",
        "zoom_custom:2",
        "remix_strong:2",
        "remix_subtle:2",
    ):
        assert f'{{"action": "{name}"}}' in image_2, name
    assert not re.search(r'"action": "[^"]+:[134]"', image_2)  # image 2's alone
    assert 'aria-label="Upscale (Subtle)"' in image_2
    assert '>Subtle<span class="act-price">$0.12</span></button>' in image_2
    assert f'href="/jobs/{grid.pk}/region/?action=region%3A2"' in image_2
    assert f'id="zoom-{grid.pk}-2" name="zoom" min="1.1" max="2"' in image_2
    assert f'hx-include="#zoom-{grid.pk}-2, #remix-{grid.pk}-2"' in image_2
    assert f'id="remix-{grid.pk}-2" name="prompt"' in image_2
    # Enhance is for drafts only: LegNext did not offer it here, so it is not shown.
    assert "enhance" not in html


def test_each_image_can_be_viewed_and_downloaded_on_its_own(bob_client: Client, grid: Job) -> None:
    html = card(bob_client, grid)

    for number in range(1, 5):
        image = grid.quadrant_image(number)
        assert image is not None
        menu = menu_of(html, number)
        assert f'href="/images/{image.pk}/full/" target="_blank"' in menu
        assert f'download="{grid.pk}-{number}.png"' in menu


def test_enhance_shows_where_legnext_offers_it(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    draft = make_legnext_grid(
        project=project,
        user=bob,
        provider_key=legnext,
        available={**LEGNEXT_AVAILABLE, "enhance": [0, 2]},
    )

    html = card(bob_client, draft)

    assert '{"action": "enhance:1"}' in menu_of(html, 1)
    assert '{"action": "enhance:3"}' in menu_of(html, 3)
    assert "enhance:2" not in html and "enhance:4" not in html


def test_each_button_shows_its_own_price_and_no_line_claims_one_for_all(
    bob_client: Client, grid: Job
) -> None:
    html = card(bob_client, grid)

    # LegNext's credit prices, fast: subtle upscale 120 credits, creative 160, pan 80.
    assert 'title="Upscale image 2, keeping it as it is · $0.12"' in html
    assert 'title="Upscale image 2, letting Midjourney add detail · $0.16"' in html
    image_2 = menu_of(html, 2)
    assert '>Subtle<span class="act-price">$0.12</span>' in image_2
    assert '>Creative<span class="act-price">$0.16</span>' in image_2
    assert '{"action": "pan_left:2"}' in image_2
    assert '<span class="act-price">$0.08</span>' in image_2
    assert "Each follow-up" not in html and "Follow-ups $" not in html


def test_follow_ups_older_than_legnexts_three_days_are_shown_disabled_with_the_reason(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    old = make_legnext_grid(
        project=project,
        user=bob,
        provider_key=legnext,
        made_at=timezone.now() - timedelta(days=3, hours=1),
    )

    html = card(bob_client, old)

    reason = "LegNext allows follow-ups for 3 days after a job; this one is older."
    assert reason in html  # said once above the buttons
    image_1 = menu_of(html, 1)
    button = re.search(r'<button[^>]*data-action="upscale_subtle:1"[^>]*>', image_1)
    assert button is not None
    assert 'aria-disabled="true"' in button[0]
    assert f'title="Upscale (Subtle): {reason}"' in button[0]
    assert "hx-post" not in button[0]  # not clickable
    assert "/follow-up/" not in image_1  # none of the image's buttons posts anything
    assert f'href="/jobs/{old.pk}/region/' not in image_1  # no way into the editor either


def test_the_seed_shows_in_place_without_a_request_or_a_charge(
    bob_client: Client, grid: Job
) -> None:
    html = card(bob_client, grid)

    reveal = html[html.index('class="seed-reveal"') : html.index("</details>")]
    assert '<code class="seed-value">123</code>' in reveal
    assert 'data-copy="123"' in reveal
    assert "hx-post" not in reveal
    assert f"/jobs/{grid.pk}/seed/" not in html


def test_asking_for_a_seed_that_came_with_the_result_makes_no_job(
    bob_client: Client, grid: Job
) -> None:
    response = bob_client.post(f"/jobs/{grid.pk}/seed/", headers=HX)

    assert response.status_code == 422
    assert "seed is 123; it came with the result." in response.content.decode()
    assert not Job.objects.filter(parent=grid).exists()


def test_cancel_is_shown_disabled_once_legnext_has_the_job(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    waiting = make_job(
        project=project,
        user=bob,
        provider="legnext",
        provider_key=legnext,
        status=Status.SUBMITTED,
        provider_task_id="legnext-job",
    )

    html = card(bob_client, waiting)

    button = re.search(r'<button[^>]*class="btn small ghost cancel"[^>]*>Cancel</button>', html)
    assert button is not None
    assert 'aria-disabled="true"' in button[0] and "hx-post" not in button[0]
    assert "LegNext cannot cancel a job once it has it" in button[0]


def test_a_piapi_grid_keeps_its_quick_buttons(bob_client: Client, project: Any, bob: Any) -> None:
    piapi = make_job(
        project=project,
        user=bob,
        status=Status.COMPLETED,
        output={"actions": ["upscale1", "upscale2", "variation1", "reroll"]},
    )

    html = card(bob_client, piapi)

    assert '<span class="chip provider-chip" title="Made through PiAPI">PiAPI</span>' in html
    assert "image-menu" not in html and "image-picker" not in html
    assert '{"action": "upscale2"}' in html
    assert '>U2<span class="act-price">$0.045</span></button>' in html
    assert f'hx-include="#remix-{piapi.pk}"' in html
    assert f"/jobs/{piapi.pk}/seed/" in html  # PiAPI's seed is a job of its own


# --- posting a follow-up for one image ---------------------------------------------


def follow_up(client: Client, job: Job, **data: str) -> Any:
    return client.post(f"/jobs/{job.pk}/follow-up/", data, headers=HX)


def test_a_pan_of_image_3_is_a_child_job_panning_that_image(bob_client: Client, grid: Job) -> None:
    response = follow_up(bob_client, grid, action="pan_left:3")

    assert response.status_code == 201
    child = Job.objects.get(parent=grid)
    assert (child.operation, child.provider, child.provider_key_id) == (
        "pan",
        "legnext",
        grid.provider_key_id,
    )
    assert child.parameters == {"image": 3, "direction": "left", "step": "Pan ← · image 3"}
    assert f'id="job-{child.pk}"' in response.content.decode()


def test_a_custom_zoom_takes_the_factor_given(bob_client: Client, grid: Job) -> None:
    response = follow_up(bob_client, grid, action="zoom_custom:2", zoom="1.3")

    assert response.status_code == 201
    child = Job.objects.get(parent=grid)
    assert (child.operation, child.parameters["zoom"], child.parameters["image"]) == (
        "outpaint",
        "1.3",
        2,
    )
    assert child.step_label == "Zoom Out 1.3× · image 2"


@pytest.mark.parametrize(
    ("zoom", "message"),
    [
        ("2.5", "The zoom must be from 1.1 to 2.0; 2.5 is outside that."),
        ("", "Give the zoom as a number from 1.1 to 2.0, e.g. 1.3."),
    ],
)
def test_a_custom_zoom_out_of_range_is_refused_with_the_range(
    bob_client: Client, grid: Job, zoom: str, message: str
) -> None:
    response = follow_up(bob_client, grid, action="zoom_custom:2", zoom=zoom)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert response["HX-Retarget"] == "#notice"
    assert not Job.objects.filter(parent=grid).exists()


def test_a_remix_sends_its_prompt(bob_client: Client, grid: Job) -> None:
    response = follow_up(bob_client, grid, action="remix_strong:1", prompt="the same, in winter")

    assert response.status_code == 201
    child = Job.objects.get(parent=grid)
    assert (child.operation, child.prompt) == ("remix", "the same, in winter")
    assert child.parameters["mode"] == "strong" and child.parameters["image"] == 1


def test_a_remix_without_a_prompt_is_refused_with_what_to_do(bob_client: Client, grid: Job) -> None:
    response = follow_up(bob_client, grid, action="remix_strong:1", prompt="  ")

    assert response.status_code == 422
    assert "Remix (Strong) needs a prompt" in response.content.decode()
    assert not Job.objects.filter(parent=grid).exists()


def test_a_follow_up_legnext_no_longer_allows_is_refused_with_the_reason(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    old = make_legnext_grid(
        project=project,
        user=bob,
        provider_key=legnext,
        made_at=timezone.now() - timedelta(days=4),
    )

    response = follow_up(bob_client, old, action="upscale_subtle:2")

    assert response.status_code == 422
    assert "LegNext allows follow-ups for 3 days" in response.content.decode()
    assert not Job.objects.filter(parent=old).exists()


def test_an_image_the_result_does_not_offer_is_refused(bob_client: Client, grid: Job) -> None:
    response = follow_up(bob_client, grid, action="upscale2")  # PiAPI's name, not LegNext's

    assert response.status_code == 422
    assert "is not offered for this result" in response.content.decode()


# --- the region editor for one image -------------------------------------------------


def test_the_region_editor_opens_on_the_chosen_image_and_posts_its_action(
    bob_client: Client, grid: Job
) -> None:
    response = bob_client.get(f"/jobs/{grid.pk}/region/?action=region:3")

    assert response.status_code == 200
    html = response.content.decode()
    image = grid.quadrant_image(3)
    assert image is not None
    assert f'src="/images/{image.pk}/full/" width="256" height="256"' in html
    assert 'name="action" value="region:3"' in html
    assert "Vary (Region) <span" in html and "image 3" in html


def test_the_region_editor_refuses_what_legnext_no_longer_allows(
    bob_client: Client, project: Any, bob: Any, legnext: Any
) -> None:
    old = make_legnext_grid(
        project=project,
        user=bob,
        provider_key=legnext,
        made_at=timezone.now() - timedelta(days=5),
    )

    assert bob_client.get(f"/jobs/{old.pk}/region/?action=region:1").status_code == 404


def test_a_region_drawn_on_image_3_repaints_image_3(bob_client: Client, grid: Job) -> None:
    mask = Image.new("L", (256, 256), 0)
    mask.paste(255, (0, 0, 128, 128))
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    drawn = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

    response = follow_up(bob_client, grid, action="region:3", mask=drawn, prompt="a lighthouse")

    assert response.status_code == 201
    child = Job.objects.get(parent=grid)
    assert (child.operation, child.parameters["image"]) == ("inpaint", 3)
    assert child.step_label == "Vary (Region) · image 3"


def test_the_region_editors_breadcrumb_starts_with_the_team(bob_client: Client, grid: Job) -> None:
    html = bob_client.get(f"/jobs/{grid.pk}/region/?action=region:2").content.decode()

    crumbs = html[html.index('<nav class="crumbs">') : html.index("</nav>")]
    assert re.findall(r"<a [^>]*>([^<]+)</a>", crumbs)[:2] == ["Acme", grid.project.name]
