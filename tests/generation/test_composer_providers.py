"""The composer says where the next job runs: a picker when the team has keys for two
providers, a quiet line with one. It offers only that provider's modes (LegNext has no
Relax: never quietly Fast), and Shorten where the provider has it."""

import re
from typing import Any

import pytest
from django.test import Client

from studio.generation.models import Job, Status
from tests.factories import make_job, make_key

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def members_may_use_turbo(acme: Any) -> None:
    """These tests are about the providers' modes, so Bob may use all of them (a member
    without Turbo rights is not offered it: test_composer_budgets.py)."""
    acme.turbo_roles = "admin,member"
    acme.save()


@pytest.fixture
def bob_client(client: Client, bob: Any) -> Client:
    client.force_login(bob)
    return client


@pytest.fixture
def both(acme: Any) -> Any:
    """Acme's PiAPI key first, then a LegNext key."""
    return make_key(team=acme, provider="legnext")


@pytest.fixture
def legnext_only(acme: Any) -> Any:
    acme.provider_keys.update(is_active=False)
    return make_key(team=acme, provider="legnext")


def page(client: Client, project: Any) -> str:
    response = client.get(f"/projects/{project.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def offered_modes(html: str, form: str = "prompt-form") -> list[str]:
    """The modes a form's mode picker offers (hidden, disabled ones are not offered)."""
    start = html.index('<select name="mode">', html.index(f'id="{form}"'))
    select = html[start : html.index("</select>", start)]
    options = re.findall(r"<option value=\"(\w+)\"([^>]*)>", select)
    return [value for value, rest in options if "disabled" not in rest]


def test_with_two_providers_a_picker_says_where_the_next_job_runs(
    bob_client: Client, project: Any, both: Any
) -> None:
    html = page(bob_client, project)

    picker = html[html.index('id="provider-pick"') : html.index("</div>\n      </div>")]
    assert 'aria-label="Provider that runs the next job"' in html
    assert "Runs on" in picker
    # The first key's provider is the default.
    assert re.search(r'value="piapi"[^>]*data-modes="relax fast turbo"[^>]* checked', picker)
    assert re.search(r'value="legnext"[^>]*data-modes="fast turbo"', picker)
    assert 'data-work="imagine describe blend shorten animate retexture remove_bg edit"' in picker
    assert offered_modes(html) == ["relax", "fast", "turbo"]
    # Every form sends the pick along.
    assert html.count('hx-include="#provider-pick"') == 3


def test_with_one_provider_a_quiet_line_names_it(bob_client: Client, project: Any) -> None:
    html = page(bob_client, project)

    assert 'type="radio" name="provider"' not in html
    assert (
        '<p class="provider-pick quiet" id="provider-pick">Runs on <strong>PiAPI</strong>'
        '<input type="hidden" name="provider" value="piapi"></p>'
    ) in html
    assert "Shorten" not in html  # PiAPI has no shorten


def test_a_legnext_team_is_offered_fast_and_turbo_only(
    bob_client: Client, project: Any, legnext_only: Any
) -> None:
    html = page(bob_client, project)

    assert "Runs on <strong>LegNext</strong>" in html
    for form in ("prompt-form", "describe-form", "blend-form"):
        assert offered_modes(html, form) == ["fast", "turbo"], form
    line = html[html.index('class="muted small price-line"') :]
    line = line[: line.index("</span></span>")]
    assert "Fast $0.02" in line and "Turbo $0.04" in line and "Relax" not in line


def test_a_relax_default_opens_in_fast_for_legnext_and_says_so(
    bob_client: Client, project: Any, acme: Any, legnext_only: Any
) -> None:
    acme.default_mode = "relax"
    acme.save()

    html = page(bob_client, project)

    assert re.search(r'<option value="fast" selected>', html)
    note = '<p class="provider-note" id="provider-note" role="status">'
    assert f"{note}LegNext has no Relax mode: switched to Fast.</p>" in html


def test_the_panel_follows_the_picked_provider(bob_client: Client, project: Any, both: Any) -> None:
    response = bob_client.post(
        f"/projects/{project.pk}/prompt/",
        {"prompt": "a fox", "mode": "turbo", "provider": "legnext"},
        headers=HX,
    )

    html = response.content.decode()
    assert offered_modes(html.replace('id="prompt-controls"', 'id="prompt-form"')) == [
        "fast",
        "turbo",
    ]
    shorten = re.search(r"<button[^>]*shorten-btn[^>]*>", html)
    assert shorten is not None and " hidden" not in shorten[0]
    piapi = bob_client.post(
        f"/projects/{project.pk}/prompt/", {"prompt": "a fox", "provider": "piapi"}, headers=HX
    ).content.decode()
    shorten = re.search(r"<button[^>]*shorten-btn[^>]*>", piapi)
    assert shorten is not None and " hidden" in shorten[0]


def test_relax_typed_in_the_prompt_for_legnext_is_an_error_not_fast(
    bob_client: Client, project: Any, both: Any
) -> None:
    preview = bob_client.post(
        f"/projects/{project.pk}/prompt/",
        {"prompt": "a fox --relax", "provider": "legnext"},
        headers=HX,
    ).content.decode()
    submitted = bob_client.post(
        f"/projects/{project.pk}/jobs/",
        {"prompt": "a fox", "mode": "relax", "aspect_ratio": "1:1", "provider": "legnext"},
        headers=HX,
    )

    assert "LegNext has no Relax mode; choose Fast or Turbo." in preview
    assert submitted.status_code == 422
    assert "LegNext has no Relax mode; choose Fast or Turbo." in submitted.content.decode()
    assert not Job.objects.exists()


def test_a_job_goes_to_the_picked_provider(bob_client: Client, project: Any, both: Any) -> None:
    response = bob_client.post(
        f"/projects/{project.pk}/jobs/",
        {"prompt": "a fox", "mode": "fast", "aspect_ratio": "1:1", "provider": "legnext"},
        headers=HX,
    )

    assert response.status_code == 201
    job = Job.objects.get()
    assert (job.provider, job.process_mode) == ("legnext", "fast")
    assert '<span class="chip provider-chip" title="Made through LegNext">' in (
        response.content.decode()
    )


# --- Shorten -----------------------------------------------------------------------


def test_shorten_makes_a_job_at_the_picked_provider(
    bob_client: Client, project: Any, both: Any
) -> None:
    response = bob_client.post(
        f"/projects/{project.pk}/shorten/",
        {"prompt": "a very long and winding prompt about a fox", "provider": "legnext"},
        headers=HX,
    )

    assert response.status_code == 201
    job = Job.objects.get()
    assert (job.operation, job.provider, job.prompt) == (
        "shorten",
        "legnext",
        "a very long and winding prompt about a fox",
    )
    assert f'id="job-{job.pk}"' in response.content.decode()


def test_shorten_without_a_prompt_says_what_to_do(
    bob_client: Client, project: Any, both: Any
) -> None:
    response = bob_client.post(
        f"/projects/{project.pk}/shorten/", {"prompt": " ", "provider": "legnext"}, headers=HX
    )

    assert response.status_code == 422
    assert "Write a prompt first" in response.content.decode()
    assert not Job.objects.exists()


def test_shorten_at_a_provider_without_it_is_refused(bob_client: Client, project: Any) -> None:
    response = bob_client.post(
        f"/projects/{project.pk}/shorten/", {"prompt": "a fox", "provider": "piapi"}, headers=HX
    )

    assert response.status_code == 422
    assert "PiAPI does not offer Shorten." in response.content.decode()


def test_a_viewer_cannot_shorten(client: Client, project: Any, vera: Any, both: Any) -> None:
    client.force_login(vera)

    response = client.post(f"/projects/{project.pk}/shorten/", {"prompt": "a fox"}, headers=HX)

    assert response.status_code == 403
    assert not Job.objects.exists()


def test_a_shortened_prompt_shows_with_its_words_and_a_way_to_use_it(
    bob_client: Client, project: Any, bob: Any, both: Any
) -> None:
    job = make_job(
        project=project,
        user=bob,
        operation="shorten",
        provider="legnext",
        prompt="a very long and winding prompt about a red fox in the snow",
        status=Status.COMPLETED,
        output={"description": "red fox, snow", "prompts": ["fox", "snow", "red"]},
    )

    html = bob_client.get(f"/jobs/{job.pk}/", headers=HX).content.decode()

    assert f'<p class="shortened" id="shortened-{job.pk}">red fox, snow</p>' in html
    assert re.findall(r'<li class="chip">(\w+)</li>', html) == ["fox", "snow", "red"]
    assert 'data-imagine="red fox, snow"' in html and "Use this prompt" in html
    assert "a very long and winding prompt" in html  # what it came from
