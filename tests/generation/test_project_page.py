from typing import Any

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from studio.generation.models import Job, Status
from tests.factories import make_job


@pytest.fixture
def bob_client(client: Client, bob: Any) -> Client:
    client.force_login(bob)
    return client


def submit(client: Client, project: Any, **data: str) -> Any:
    fields = {"prompt": "a lighthouse at dusk", "aspect_ratio": "16:9", "mode": "fast"}
    fields.update(data)
    return client.post(f"/projects/{project.pk}/jobs/", fields, headers={"HX-Request": "true"})


def test_the_project_page_shows_the_prompt_form_and_the_jobs(
    bob_client: Client, project: Any, bob: Any
) -> None:
    make_job(
        project=project, user=bob, prompt="a red fox in snow", status=Status.PROCESSING, progress=40
    )

    page = bob_client.get(f"/projects/{project.pk}/").content.decode()

    assert 'id="prompt-form"' in page
    assert "a red fox in snow" in page
    assert 'value="40"' in page  # the progress bar
    assert f'ws-connect="/ws/projects/{project.pk}/"' in page


def test_a_prompt_creates_a_queued_job_and_a_dispatch_at_once(
    bob_client: Client, project: Any
) -> None:
    response = submit(bob_client, project)

    assert response.status_code == 201
    job = Job.objects.get()
    assert (job.status, job.prompt, job.aspect_ratio, job.process_mode) == (
        Status.QUEUED,
        "a lighthouse at dusk",
        "16:9",
        "fast",
    )
    assert DBTaskResult.objects.filter(task_path__endswith="dispatch_team").count() == 1
    body = response.content.decode()
    assert f'id="job-{job.pk}"' in body  # the new card, swapped in at the top
    assert 'hx-swap-oob="afterbegin:#job-list"' in body


def test_an_empty_prompt_gets_a_clear_error_and_creates_nothing(
    bob_client: Client, project: Any
) -> None:
    response = submit(bob_client, project, prompt="   ")

    assert response.status_code == 422
    assert "Write a prompt first" in response.content.decode()
    assert not Job.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_a_prompt_over_2500_characters_is_refused_with_its_length(
    bob_client: Client, project: Any
) -> None:
    response = submit(bob_client, project, prompt="a" * 2501)

    assert response.status_code == 422
    assert "2501 characters long; the limit is 2500" in response.content.decode()
    assert not Job.objects.exists()


def test_a_prompt_of_exactly_2500_characters_is_accepted(bob_client: Client, project: Any) -> None:
    assert submit(bob_client, project, prompt="a" * 2500).status_code == 201


def test_an_unknown_mode_or_ratio_is_refused(bob_client: Client, project: Any) -> None:
    response = submit(bob_client, project, mode="ludicrous", aspect_ratio="7:1")

    assert response.status_code == 422
    body = response.content.decode()
    assert "relax, fast or turbo" in body
    assert "--ar must be between 1:4 and 4:1; got 7:1." in body
    assert not Job.objects.exists()


def test_a_prompt_with_markup_renders_as_text(bob_client: Client, project: Any) -> None:
    submit(bob_client, project, prompt='<script>alert(1)</script> <img src=x onerror="x()">')

    page = bob_client.get(f"/projects/{project.pk}/").content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_outsider_gets_404_for_the_page_and_the_submit(
    client: Client, project: Any, charlie: Any
) -> None:
    client.force_login(charlie)

    assert client.get(f"/projects/{project.pk}/").status_code == 404
    assert submit(client, project).status_code == 404
    assert not Job.objects.exists()


def test_a_viewer_sees_the_project_but_cannot_generate(
    client: Client, project: Any, vera: Any
) -> None:
    client.force_login(vera)

    page = client.get(f"/projects/{project.pk}/").content.decode()

    assert 'id="prompt-form"' not in page
    assert submit(client, project).status_code == 403
    assert not Job.objects.exists()


def test_a_visitor_who_is_not_logged_in_is_sent_to_login(client: Client, project: Any) -> None:
    response = client.get(f"/projects/{project.pk}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_home_page_goes_straight_to_a_lone_project(bob_client: Client, project: Any) -> None:
    response = bob_client.get("/")

    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.pk}/"


def test_an_admin_creates_a_project_and_a_duplicate_name_is_refused(
    client: Client, alice: Any, acme: Any, project: Any
) -> None:
    client.force_login(alice)

    created = client.post(f"/teams/{acme.pk}/projects/", {"name": "Spring"})
    duplicate = client.post(f"/teams/{acme.pk}/projects/", {"name": "launch"})

    assert created.status_code == 200 and created["HX-Redirect"].startswith("/projects/")
    assert duplicate.status_code == 422
    assert "already has a project with that name" in duplicate.content.decode()


def test_a_member_cannot_create_projects(client: Client, bob: Any, acme: Any) -> None:
    client.force_login(bob)

    assert client.post(f"/teams/{acme.pk}/projects/", {"name": "Spring"}).status_code == 403


def test_flags_typed_in_the_prompt_show_in_the_panel(bob_client: Client, project: Any) -> None:
    response = bob_client.post(
        f"/projects/{project.pk}/prompt/",
        {"prompt": "a fox --ar 16:9 --v 7 --chaos 20", "aspect_ratio": "1:1", "mode": "fast"},
        headers={"HX-Request": "true"},
    )

    body = response.content.decode()
    assert '<option value="16:9" selected>' in body
    assert '<option value="7" selected>' in body
    assert 'name="chaos" min="0" max="100" step="1" value="20"' in body
    assert "a fox --v 7 --c 20" in body or "a fox --v 7 --chaos 20" in body  # what is sent


def test_panel_fields_compile_into_the_prompt_the_provider_gets(
    bob_client: Client, project: Any
) -> None:
    submit(bob_client, project, prompt="a fox", stylize="250", style_raw="on", no="text")

    job = Job.objects.get()
    assert job.prompt.startswith("a fox")
    assert "--s 250" in job.prompt and "--style raw" in job.prompt and "--no text" in job.prompt
    assert job.prompt_parameters["stylize"] == "250"


def test_a_mode_flag_in_the_prompt_sets_the_mode_and_is_never_sent(
    client: Client, project: Any, alice: Any
) -> None:
    client.force_login(alice)  # admins may use Turbo

    submit(client, project, prompt="a fox --turbo", mode="relax")

    job = Job.objects.get()
    assert job.process_mode == "turbo"  # what the panel then shows, and what runs
    assert "--turbo" not in job.prompt and "--relax" not in job.prompt


def test_an_out_of_range_or_unknown_flag_is_refused_before_anything_is_sent(
    bob_client: Client, project: Any
) -> None:
    response = submit(bob_client, project, prompt="a fox --chaos 500 --hd")

    assert response.status_code == 422
    body = response.content.decode()
    assert "must be from 0 to 100; got 500." in body
    assert "Unknown parameter --hd" in body
    assert not Job.objects.exists()


def test_imagine_this_from_elsewhere_opens_the_composer_with_the_prompt(
    bob_client: Client, project: Any
) -> None:
    page = bob_client.get(f"/projects/{project.pk}/", {"prompt": "a barn at dusk --ar 3:2"})

    body = page.content.decode()
    assert ">a barn at dusk --ar 3:2</textarea>" in body
    assert '<option value="3:2" selected>' in body


def test_only_admins_see_the_way_to_the_money_pages(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    money = f'href="/teams/{project.team_id}/money/"'
    client.force_login(alice)
    assert money in client.get(f"/projects/{project.pk}/").content.decode()
    client.force_login(bob)
    assert money not in client.get(f"/projects/{project.pk}/").content.decode()


def test_the_composer_starts_in_the_teams_default_mode(
    bob_client: Client, project: Any, acme: Any
) -> None:
    acme.default_mode = "relax"
    acme.save()

    page = bob_client.get(f"/projects/{project.pk}/").content.decode()

    assert '<option value="relax" selected>' in page
