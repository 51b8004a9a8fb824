"""A feed card as everyone on the project sees it: who made it and when (for the feed's
own filters), each follow-up's true price, how long a running job has taken and usually
takes, and a blend's source images (and a described image) when pushed too."""

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio.billing.models import Price
from studio.generation import live
from studio.generation.models import Job, Status
from tests.factories import make_job
from tests.generation.test_retry import make_input

HX = {"HX-Request": "true"}


@pytest.fixture
def bob_client(client: Client, bob: Any) -> Client:
    client.force_login(bob)
    return client


def feed(client: Client, project: Any) -> str:
    return client.get(f"/projects/{project.pk}/").content.decode()


def finished(project: Any, user: Any, seconds: int, **fields: Any) -> Job:
    started = timezone.now() - timedelta(hours=1)
    return make_job(
        project=project,
        user=user,
        status=Status.COMPLETED,
        created_at=started,
        finished_at=started + timedelta(seconds=seconds),
        **fields,
    )


def test_a_card_says_whose_it_is_and_when_it_was_made(
    bob_client: Client, project: Any, bob: Any
) -> None:
    job = make_job(project=project, user=bob, status=Status.QUEUED)

    html = feed(bob_client, project)

    assert f'id="job-{job.pk}" class="job-card is-queued' in html
    assert f'data-status="queued" data-rank="0" data-owner="{bob.pk}" data-created="' in html
    assert f'data-created="{job.created_at.isoformat()}"' in html


def test_each_follow_up_shows_the_teams_price_for_its_own_operation(
    bob_client: Client, project: Any, bob: Any, acme: Any
) -> None:
    # An admin prices upscales on their own; everything else keeps the mode's price.
    Price.objects.create(
        team=acme, provider="piapi", mode="fast", operation="upscale", amount="0.06"
    )
    make_job(
        project=project,
        user=bob,
        status=Status.COMPLETED,
        output={"actions": ["upscale1", "variation1", "reroll"]},
    )

    html = feed(bob_client, project)

    assert '>U1<span class="act-price">$0.06</span>' in html
    assert '>V1<span class="act-price">$0.045</span>' in html
    assert "Each follow-up" not in html and "Follow-ups $" not in html


def test_a_running_card_says_how_long_it_has_run_and_how_long_such_jobs_take(
    bob_client: Client, project: Any, bob: Any
) -> None:
    for seconds in (30, 40, 90):
        finished(project, bob, seconds)
    finished(project, bob, 500, process_mode="relax")  # another mode: not counted
    running = make_job(
        project=project,
        user=bob,
        status=Status.PROCESSING,
        progress=30,
        created_at=timezone.now() - timedelta(seconds=75),
    )

    html = feed(bob_client, project)

    card = html[html.index(f'id="job-{running.pk}"') :]
    assert f'<time class="elapsed" datetime="{running.created_at.isoformat()}" data-elapsed' in card
    assert ">1:15<" in card or ">1:16<" in card
    assert '<span class="typical">· usually ~40 s</span>' in card
    assert 'value="30"' in card  # the progress bar


def test_no_typical_time_is_claimed_from_too_few_jobs(
    bob_client: Client, project: Any, bob: Any
) -> None:
    finished(project, bob, 40)
    make_job(project=project, user=bob, status=Status.PROCESSING)

    assert "usually" not in feed(bob_client, project)


def test_the_typical_times_cost_one_query_per_team_not_per_card(project: Any, bob: Any) -> None:
    for seconds in (30, 40, 50):
        finished(project, bob, seconds)
    for _ in range(5):
        make_job(project=project, user=bob, status=Status.PROCESSING)

    jobs = list(Job.objects.filter(project=project).select_related("project"))
    with CaptureQueriesContext(connection) as queries:
        live.decorate(jobs)

    typical = [q for q in queries if "finished_at" in q["sql"]]
    assert len(typical) == 1
    assert {job.typical_seconds for job in jobs} == {40}  # type: ignore[attr-defined]


def test_a_blend_card_shows_its_source_images(bob_client: Client, project: Any, bob: Any) -> None:
    sources = [make_input(project, bob, n) for n in (1, 2, 3)]
    blend = make_job(project=project, user=bob, operation="blend", prompt="", status=Status.QUEUED)
    blend.inputs.set(sources)

    html = bob_client.get(f"/jobs/{blend.pk}/", headers=HX).content.decode()

    assert 'class="blend-sources" aria-label="Blended images"' in html
    for n, source in enumerate(sources, start=1):
        assert f'src="{source.thumbnail_path()}" alt="Blended image {n}"' in html


def test_a_pushed_card_shows_the_blends_and_the_described_images(project: Any, bob: Any) -> None:
    sources = [make_input(project, bob, n) for n in (1, 2)]
    blend = make_job(project=project, user=bob, operation="blend", prompt="")
    blend.inputs.set(sources)
    describe = make_job(project=project, user=bob, operation="describe", prompt="")
    describe.inputs.set(sources[:1])
    imagine = make_job(project=project, user=bob)
    imagine.inputs.set(sources[:1])  # an image prompt: not shown on its card
    pushed: list[str] = []

    with mock.patch.object(
        live, "push_project_html", side_effect=lambda _, html: pushed.append(html)
    ):
        live.push_job(blend.pk)
        live.push_job(describe.pk)
        with CaptureQueriesContext(connection) as queries:
            live.push_job(imagine.pk)

    for n, source in enumerate(sources, start=1):
        assert f'src="{source.thumbnail_path()}" alt="Blended image {n}"' in pushed[0]
    assert f'class="describe-input" src="{sources[0].image_path()}"' in pushed[1]
    assert not [q for q in queries if "inputs_inputimage" in q["sql"]]


def test_a_preview_replaced_while_asked_for_is_a_not_found_never_an_error(
    bob_client: Client, project: Any, bob: Any
) -> None:
    """The card asks for the preview it was drawn with; by then the job may have moved on
    and that file is gone."""
    job = make_job(project=project, user=bob, status=Status.PROCESSING)
    Job.objects.filter(pk=job.pk).update(preview="previews/job-gone-preview-40.png")

    response = bob_client.get(f"/jobs/{job.pk}/preview/?p=40")

    assert response.status_code == 404
