"""The composer's prompt history: the member's own recent prompts in this project,
distinct, newest first, for ↑ and the "Recent" menu."""

import html as html_module
import re
from typing import Any

from django.test import Client

from studio.generation.models import Job
from tests.factories import make_job, make_project


def recent(client: Client, project: Any) -> list[str]:
    html = client.get(f"/projects/{project.pk}/").content.decode()
    return [html_module.unescape(text) for text in re.findall(r'data-recall="([^"]*)"', html)]


def test_the_menu_lists_my_distinct_prompts_newest_first(
    client: Client, bob: Any, alice: Any, project: Any, acme: Any
) -> None:
    make_job(project=project, user=bob, prompt="an old harbour at dawn --ar 16:9")
    make_job(project=project, user=bob, prompt="a lighthouse at dusk")
    make_job(project=project, user=bob, prompt="an old harbour at dawn --ar 16:9")
    make_job(project=project, user=alice, prompt="alice's prompt")
    make_job(project=make_project(team=acme, name="Other"), user=bob, prompt="elsewhere")
    make_job(project=project, user=bob, operation="upscale", prompt="an upscale's prompt")
    client.force_login(bob)

    assert recent(client, project) == ["an old harbour at dawn --ar 16:9", "a lighthouse at dusk"]


def test_the_menu_holds_the_last_twenty(client: Client, bob: Any, project: Any) -> None:
    for number in range(25):
        make_job(project=project, user=bob, prompt=f"prompt {number}")
    client.force_login(bob)

    shown = recent(client, project)

    assert shown == [f"prompt {number}" for number in range(24, 4, -1)]


def test_without_prompts_there_is_no_menu(client: Client, bob: Any, project: Any) -> None:
    client.force_login(bob)

    html = client.get(f"/projects/{project.pk}/").content.decode()

    assert 'id="recent-menu"' not in html


def test_a_new_job_is_in_the_menu_of_the_fresh_form(client: Client, bob: Any, project: Any) -> None:
    client.force_login(bob)

    response = client.post(
        f"/projects/{project.pk}/jobs/",
        {"prompt": "a fox in the snow", "mode": "fast", "aspect_ratio": "1:1"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 201
    assert 'data-recall="a fox in the snow"' in response.content.decode()
    assert Job.objects.filter(prompt="a fox in the snow").exists()
