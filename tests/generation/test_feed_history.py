"""The project's feed past its first page, searched and filtered, with its state in the URL
(the gallery's way), at the same cost per page wherever it is."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from studio.generation import live
from studio.generation.models import Job, Status
from tests.factories import make_job

HX = {"HX-Request": "true"}


@pytest.fixture
def bob_client(client: Client, bob: Any) -> Client:
    client.force_login(bob)
    return client


def make_history(project: Any, user: Any, count: int, **fields: Any) -> list[Job]:
    """`count` jobs a minute apart, the last the newest; prompts "job 1" … "job N"."""
    start = timezone.now() - timedelta(days=1)
    jobs = []
    for number in range(1, count + 1):
        job = make_job(
            project=project,
            user=user,
            prompt=f"job {number} of the history",
            status=fields.get("status", Status.COMPLETED),
            **{key: value for key, value in fields.items() if key != "status"},
        )
        Job.objects.filter(pk=job.pk).update(created_at=start + timedelta(minutes=number))
        jobs.append(job)
    return jobs


def shown(html: str) -> list[int]:
    """The jobs whose cards the page shows, in order."""
    return [int(pk) for pk in re.findall(r'<article[^>]*\bid="job-(\d+)"', html)]


def more_link(html: str) -> str:
    match = re.search(r'<a class="btn small ghost more-link" href="([^"]+)"', html)
    assert match, "no Show older link"
    return match[1].replace("&amp;", "&")


def test_the_page_shows_the_60_newest_and_show_older_answers_the_rest(
    bob_client: Client, project: Any, bob: Any
) -> None:
    jobs = make_history(project, bob, 75)

    first = bob_client.get(f"/projects/{project.pk}/").content.decode()
    assert shown(first) == [job.pk for job in reversed(jobs[15:])]  # the 75th … the 16th

    # Without JavaScript the link is a whole page: the next 15, oldest last.
    older = bob_client.get(more_link(first)).content.decode()
    assert shown(older) == [job.pk for job in reversed(jobs[:15])]
    assert "more-link" not in older
    assert "That's all" in older
    assert f'href="/projects/{project.pk}/">Newest jobs' in older
    assert "data-older-only" in older and "data-older-only" not in first  # no live top there


def test_the_next_page_for_htmx_is_its_cards_and_the_loader_moved_on(
    bob_client: Client, project: Any, bob: Any
) -> None:
    jobs = make_history(project, bob, 75)
    first = bob_client.get(f"/projects/{project.pk}/").content.decode()

    page = bob_client.get(more_link(first), headers={**HX, "HX-Target": "job-list"})

    html = page.content.decode()
    assert shown(html) == [job.pk for job in reversed(jobs[:15])]
    assert 'id="prompt-form"' not in html  # only the cards and the loader
    assert '<div class="feed-more" id="feed-more" hx-swap-oob="true">' in html


def test_a_job_arriving_meanwhile_does_not_shift_the_next_page(
    bob_client: Client, project: Any, bob: Any
) -> None:
    jobs = make_history(project, bob, 75)
    first = bob_client.get(f"/projects/{project.pk}/").content.decode()
    make_job(project=project, user=bob, prompt="job 76 of the history")

    older = bob_client.get(more_link(first)).content.decode()

    assert shown(older)[0] == jobs[14].pk  # the 15th, not the 16th again


def test_searching_a_word_narrows_the_feed_and_the_url_holds_it(
    bob_client: Client, project: Any, bob: Any
) -> None:
    red_fox = make_job(project=project, user=bob, prompt="a red fox in snow")
    make_job(project=project, user=bob, prompt="a lighthouse at dusk")
    sleeping = make_job(project=project, user=bob, prompt="the FOX, sleeping")

    response = bob_client.get(
        f"/projects/{project.pk}/",
        {"q": "fox", "member": "", "operation": ""},
        headers={**HX, "HX-Target": "feed-results"},
    )

    html = response.content.decode()
    assert shown(html) == [sleeping.pk, red_fox.pk]
    assert response["HX-Push-Url"] == f"/projects/{project.pk}/?q=fox"  # empty fields left out
    assert 'data-filtered data-q="fox"' in html  # what the page's script matches pushes with
    # Reloading that URL gives the same feed, and the search box keeps the word.
    page = bob_client.get(f"/projects/{project.pk}/?q=fox").content.decode()
    assert shown(page) == [sleeping.pk, red_fox.pk]
    assert 'name="q" value="fox"' in page


def test_each_filter_narrows_the_feed(
    bob_client: Client, project: Any, bob: Any, alice: Any
) -> None:
    alices = make_job(project=project, user=alice, status=Status.COMPLETED)
    upscale = make_job(
        project=project,
        user=bob,
        operation="upscale",
        process_mode="relax",
        status=Status.FAILED,
    )
    running = make_job(project=project, user=bob, status=Status.PROCESSING)

    def feed(**query: Any) -> str:
        return bob_client.get(f"/projects/{project.pk}/", query).content.decode()

    assert shown(feed()) == [running.pk, upscale.pk, alices.pk]
    assert shown(feed(member=alice.pk)) == [alices.pk]
    assert shown(feed(operation="upscale")) == [upscale.pk]
    assert shown(feed(mode="relax")) == [upscale.pk]
    assert shown(feed(state="running")) == [running.pk]
    assert shown(feed(state="failed")) == [upscale.pk]
    assert shown(feed(member=bob.pk, state="completed")) == []
    assert "Nothing matches" in feed(member=bob.pk, state="completed")


def test_filters_that_make_no_sense_are_ignored(bob_client: Client, project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob)

    html = bob_client.get(
        f"/projects/{project.pk}/", {"state": "sideways", "member": "x", "after": "soon"}
    ).content.decode()

    assert shown(html) == [job.pk]


def test_older_pages_keep_the_filter(bob_client: Client, project: Any, bob: Any) -> None:
    relaxed = make_history(project, bob, 70, process_mode="relax")
    make_history(project, bob, 5, process_mode="turbo")

    first = bob_client.get(f"/projects/{project.pk}/?mode=relax").content.decode()
    older = bob_client.get(more_link(first)).content.decode()

    assert "mode=relax" in more_link(first)
    assert shown(first) + shown(older) == [job.pk for job in reversed(relaxed)]


def test_a_page_costs_the_same_queries_wherever_it_is(
    bob_client: Client,
    project: Any,
    bob: Any,
    alice: Any,
    django_assert_max_num_queries: Any,
) -> None:
    make_history(project, bob, 80)
    make_history(project, alice, 80, status=Status.QUEUED)
    first = bob_client.get(f"/projects/{project.pk}/").content.decode()
    second_url = more_link(first)
    second = bob_client.get(second_url).content.decode()
    hx = {**HX, "HX-Target": "job-list"}

    # The team's provider keys are read once a page (what can be made from an image).
    with django_assert_max_num_queries(13):
        bob_client.get(second_url, headers=hx)
    with django_assert_max_num_queries(13):
        bob_client.get(more_link(second), headers=hx)
    with django_assert_max_num_queries(13):
        bob_client.get(f"/projects/{project.pk}/?q=job&state=running", headers=hx)


def test_a_pushed_card_says_what_a_filtered_feed_needs_to_know(project: Any, bob: Any) -> None:
    job = make_job(
        project=project, user=bob, prompt='a "quoted" fox', process_mode="relax", status="queued"
    )
    live.decorate([job])

    html = live.job_card_upsert_html(job)

    assert (
        f'data-feed-entry="job-{job.pk}" data-owner="{bob.pk}" data-operation="imagine"'
        ' data-mode="relax" data-state="running" data-prompt="a &quot;quoted&quot; fox"'
    ) in html


def test_the_reconnect_snapshot_refreshes_cards_without_replacing_the_list(
    project: Any, bob: Any
) -> None:
    jobs = make_history(project, bob, 3)

    html = live.project_snapshot_html(project.pk, user_id=bob.pk)

    assert 'id="job-list"' not in html  # the older pages a viewer scrolled to stay
    entries = re.findall(r'data-feed-entry="job-(\d+)"', html)
    assert entries == [str(job.pk) for job in jobs]  # oldest first, each lands at its place
