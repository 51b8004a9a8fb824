"""What each provider allows, as the workflow applies it: LegNext's three-day window for
follow-ups, its seed without a call, no Relax on it, and which provider new work goes to."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from studio.generation.models import Job, Status
from studio.generation.services import (
    FollowUpRefused,
    job_follow_up,
    job_seed,
    provider_for_new_work,
)
from tests.factories import make_job, make_key

GRID_ACTIONS = ["reroll", "upscale_subtle:1", "vary_strong:1", "pan_left:2"]


def legnext_grid(project: Any, user: Any, *, age: timedelta) -> Job:
    made = timezone.now() - age
    return make_job(
        project=project,
        user=user,
        provider="legnext",
        status=Status.COMPLETED,
        provider_task_id="grid-1",
        output={"actions": GRID_ACTIONS, "seed": "987654"},
        created_at=made,
        submitted_at=made,
    )


def test_a_legnext_result_offers_follow_ups_for_three_days(project: Any, bob: Any) -> None:
    fresh = legnext_grid(project, bob, age=timedelta(days=2, hours=23))

    assert [action.name for action in fresh.actions] == GRID_ACTIONS
    assert not any(action.unavailable for action in fresh.actions)


def test_an_older_legnext_result_says_why_its_follow_ups_are_gone(project: Any, bob: Any) -> None:
    old = legnext_grid(project, bob, age=timedelta(days=3, minutes=1))

    reasons = {action.unavailable for action in old.actions}
    assert reasons == {"LegNext allows follow-ups for 3 days after a job; this one is older."}
    with pytest.raises(FollowUpRefused, match="3 days"):
        job_follow_up(parent=old, user=bob, action_name="upscale_subtle:1")
    assert not Job.objects.filter(parent=old).exists()


def test_a_piapi_result_has_no_such_window(project: Any, bob: Any) -> None:
    old = make_job(
        project=project,
        user=bob,
        status=Status.COMPLETED,
        provider_task_id="grid-2",
        output={"actions": ["upscale1"]},
        created_at=timezone.now() - timedelta(days=30),
    )

    assert [action.unavailable for action in old.actions] == [""]


def test_a_legnext_grids_seed_comes_with_it_and_asking_makes_no_job(project: Any, bob: Any) -> None:
    grid = legnext_grid(project, bob, age=timedelta(hours=1))

    assert grid.shows_seed_without_asking and grid.seed_value == "987654"
    with pytest.raises(FollowUpRefused, match="987654"):
        job_seed(parent=grid, user=bob)
    assert not Job.objects.filter(operation="seed").exists()


def test_new_work_goes_to_the_first_keys_provider_unless_the_member_picks(acme: Any) -> None:
    make_key(team=acme, provider="legnext", api_key="lk-1")

    first = provider_for_new_work(acme, wanted="", operation="imagine", mode="fast")
    picked = provider_for_new_work(acme, wanted="legnext", operation="imagine", mode="turbo")
    shorten = provider_for_new_work(acme, wanted="", operation="shorten", mode="fast")

    assert (first, picked, shorten) == ("piapi", "legnext", "legnext")


def test_a_pick_the_team_cannot_run_is_refused_with_the_reason(acme: Any) -> None:
    make_key(team=acme, provider="legnext", api_key="lk-1")

    with pytest.raises(FollowUpRefused, match="LegNext has no Relax mode; choose Fast or Turbo"):
        provider_for_new_work(acme, wanted="legnext", operation="imagine", mode="relax")
    with pytest.raises(FollowUpRefused, match="“midjourney” is not a provider"):
        provider_for_new_work(acme, wanted="midjourney", operation="imagine", mode="fast")


def test_a_provider_the_team_has_no_key_for_cannot_be_picked(acme: Any) -> None:
    with pytest.raises(FollowUpRefused, match="no active LegNext key"):
        provider_for_new_work(acme, wanted="legnext", operation="imagine", mode="fast")
    with pytest.raises(FollowUpRefused, match="PiAPI does not offer Shorten"):
        provider_for_new_work(acme, wanted="", operation="shorten", mode="fast")


@pytest.mark.parametrize("prompt", ["in winter --turbo", "--relax a calm sea", "snow —Fast"])
def test_a_follow_up_prompt_cannot_change_the_speed_it_is_charged_for(
    project: Any, bob: Any, prompt: str
) -> None:
    grid = legnext_grid(project, bob, age=timedelta(hours=1))

    with pytest.raises(FollowUpRefused, match="runs in its parent's mode"):
        job_follow_up(parent=grid, user=bob, action_name="vary_strong:1", prompt=prompt)
    assert not Job.objects.filter(parent=grid).exists()
