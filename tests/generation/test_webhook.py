import json
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from studio.generation import live
from studio.generation.models import Job, JobQuerySet, ResultImage, Status, WebhookDelivery
from studio.generation.worker import StudioWorker
from studio.providers.piapi import PiAPI, task_from_data
from tests.factories import make_job
from tests.generation.helpers import TASK_ID, post_webhook, webhook_body
from tests.payloads import load


@pytest.fixture
def job(project: Any, bob: Any) -> Job:
    return make_job(project=project, user=bob, status=Status.SUBMITTED, provider_task_id=TASK_ID)


def test_a_progress_webhook_moves_the_job_forward(client: Client, job: Job) -> None:
    response = post_webhook(client, job, webhook_body("task_processing"))

    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == Status.PROCESSING
    assert job.progress == 45


def test_a_wrong_secret_is_refused_and_changes_nothing(client: Client, job: Job) -> None:
    response = post_webhook(client, job, webhook_body("task_processing"), secret="guess")

    assert response.status_code == 401
    job.refresh_from_db()
    assert job.status == Status.SUBMITTED
    assert not WebhookDelivery.objects.exists()


def test_a_missing_secret_is_refused(client: Client, job: Job) -> None:
    response = client.post(
        f"/webhooks/piapi/{job.pk}/",
        data=webhook_body("task_processing"),
        content_type="application/json",
    )

    assert response.status_code == 401


def test_a_secret_of_another_job_is_refused(
    client: Client, job: Job, project: Any, bob: Any
) -> None:
    other = make_job(project=project, user=bob, status=Status.SUBMITTED)

    response = post_webhook(
        client, job, webhook_body("task_processing"), secret=other.webhook_secret
    )

    assert response.status_code == 401


def test_the_same_delivery_fifty_times_changes_the_job_once(client: Client, job: Job) -> None:
    body = webhook_body("task_processing")

    answers = [post_webhook(client, job, body) for _ in range(50)]

    assert {answer.status_code for answer in answers} == {200}
    assert [answer.json()["status"] for answer in answers] == ["ok"] + ["stale"] * 49
    job.refresh_from_db()
    assert (job.status, job.progress) == (Status.PROCESSING, 45)
    # News on the way is kept nowhere: a job only moves forward, so a redelivery is stale.
    assert not WebhookDelivery.objects.exists()


def test_news_older_than_the_job_changes_nothing(client: Client, job: Job) -> None:
    newer = webhook_body("task_processing")
    older = webhook_body("task_processing")
    older["data"]["output"]["progress"] = 20

    assert post_webhook(client, job, newer).json()["status"] == "ok"
    assert post_webhook(client, job, older).json()["status"] == "stale"

    job.refresh_from_db()
    assert (job.status, job.progress) == (Status.PROCESSING, 45)


def test_the_same_final_delivery_twice_reads_the_task_once(client: Client, job: Job) -> None:
    body = webhook_body("task_completed")

    answers = [post_webhook(client, job, body).json()["status"] for _ in range(3)]

    assert answers == ["ok", "duplicate", "duplicate"]
    assert DBTaskResult.objects.filter(task_path__endswith="refresh_job").count() == 1


def test_a_webhook_for_another_task_is_refused(client: Client, job: Job) -> None:
    body = webhook_body("task_processing", task_id="someone-elses-task")

    assert post_webhook(client, job, body).status_code == 400
    job.refresh_from_db()
    assert job.status == Status.SUBMITTED


def test_a_body_that_is_not_a_webhook_is_a_bad_request(client: Client, job: Job) -> None:
    response = client.post(
        f"/webhooks/piapi/{job.pk}/",
        data="not json",
        content_type="application/json",
        headers={"x-webhook-secret": job.webhook_secret},
    )

    assert response.status_code == 400


def test_the_webhook_needs_no_csrf_token(job: Job) -> None:
    strict = Client(enforce_csrf_checks=True)

    assert post_webhook(strict, job, webhook_body("task_processing")).status_code == 200


def test_a_completed_webhook_is_confirmed_with_get_before_the_job_completes(
    client: Client, job: Job, provider: Any
) -> None:
    post_webhook(client, job, webhook_body("task_completed"))

    job.refresh_from_db()
    assert job.status == Status.SUBMITTED  # the webhook is a hint; the worker reads the truth
    StudioWorker().run_ready_tasks()

    provider.assert_called_once_with(mock.ANY, TASK_ID)
    job.refresh_from_db()
    assert job.status == Status.COMPLETED
    assert job.output["actions"][:2] == ["reroll", "upscale1"]
    assert sorted(job.images.values_list("index", flat=True)) == [0, 1, 2, 3, 4]


def test_stored_images_have_thumbnails_and_are_served_to_members(
    client: Client, job: Job, provider: Any, bob: Any
) -> None:
    post_webhook(client, job, webhook_body("task_completed"))
    StudioWorker().run_ready_tasks()
    grid = ResultImage.objects.get(job=job, index=0)

    client.force_login(bob)
    full = client.get(f"/images/{grid.pk}/full/")
    thumb = client.get(f"/images/{grid.pk}/thumb/")

    assert full.status_code == 200 and b"".join(full.streaming_content)[:4] == b"\x89PNG"
    assert thumb.status_code == 200 and b"".join(thumb.streaming_content)[:3] == b"\xff\xd8\xff"
    assert thumb["Content-Type"] == "image/jpeg"
    assert "immutable" in thumb["Cache-Control"]


def test_an_outsider_cannot_fetch_the_images(
    client: Client, job: Job, provider: Any, charlie: Any
) -> None:
    post_webhook(client, job, webhook_body("task_completed"))
    StudioWorker().run_ready_tasks()
    grid = ResultImage.objects.get(job=job, index=0)

    client.force_login(charlie)

    assert client.get(f"/images/{grid.pk}/full/").status_code == 404


def test_a_stale_progress_webhook_after_completion_changes_nothing(
    client: Client, job: Job, provider: Any
) -> None:
    post_webhook(client, job, webhook_body("task_completed"))
    StudioWorker().run_ready_tasks()

    post_webhook(client, job, webhook_body("task_processing"))
    post_webhook(client, job, webhook_body("task_pending"))

    job.refresh_from_db()
    assert (job.status, job.progress) == (Status.COMPLETED, 100)


def test_progress_only_moves_forward(client: Client, job: Job) -> None:
    post_webhook(client, job, webhook_body("task_processing"))
    older = webhook_body("task_processing")
    older["data"]["output"]["progress"] = 20

    post_webhook(client, job, older)

    job.refresh_from_db()
    assert job.progress == 45


def test_a_progress_step_is_one_statement_that_moves_the_job_and_reads_it_back(
    client: Client, job: Job, django_capture_on_commit_callbacks: Any
) -> None:
    post_webhook(client, job, webhook_body("task_processing"))  # processing, 45 %
    further = webhook_body("task_processing")
    further["data"]["output"].update(progress=60, intermediate_image_urls=None)  # no preview

    with (
        mock.patch.object(live, "push_project_html", autospec=True) as push,
        CaptureQueriesContext(connection) as statements,
        django_capture_on_commit_callbacks(execute=True),  # its push, and its API caller
    ):
        response = post_webhook(client, job, further)

    assert response.status_code == 200
    job.refresh_from_db()
    assert job.progress == 60
    # Dozens a second at 50 jobs a second (issue 14): the push renders from the job read
    # back, and no record of the delivery is kept (the move itself is forward-only).
    assert [query["sql"].split()[0] for query in statements.captured_queries] == ["UPDATE"]
    [(_, pushed)] = [call.args for call in push.call_args_list]
    assert f'id="status-pill-{job.pk}" hx-swap-oob="true">60%</span>' in pushed


def test_a_progress_step_reads_its_job_back_as_a_query_would(job: Job) -> None:
    # Its JSON as dicts and its times aware, at every step (the converters are found once).
    job.status, job.progress = Status.PROCESSING, 40
    job.parameters = {"aspect_ratio": "16:9", "mask": ""}
    job.output = {"actions": ["upscale1"]}
    job.save(update_fields=["status", "progress", "parameters", "output"])
    for progress in (50, 60):
        moved = Job.objects.progress_step(
            job.pk, provider="piapi", task_id=TASK_ID, secret=job.webhook_secret, progress=progress
        )
        assert moved is not None
        read = Job.objects.get(pk=job.pk)
        fields = [field.attname for field in Job._meta.concrete_fields]
        assert {name: getattr(moved, name) for name in fields} == {
            name: getattr(read, name) for name in fields
        }
        assert moved.parameters["aspect_ratio"] == "16:9"
        assert moved.last_event_at is not None and moved.last_event_at.tzinfo is not None


def job_rows_read(plan: dict[str, Any]) -> int:
    """The rows of the job table that a plan's scans (EXPLAIN ANALYZE's JSON) read: those
    they kept and those their filters then dropped."""
    read = 0
    if plan.get("Relation Name") == Job._meta.db_table and plan["Node Type"].endswith("Scan"):
        read += plan["Actual Rows"] + plan.get("Rows Removed by Filter", 0)
    return read + sum(job_rows_read(child) for child in plan.get("Plans", ()))


def progress_step_statements(job: Job, progress: int) -> list[tuple[str, Any]]:
    """The statements (SQL, parameters) a progress step to `progress` ran; it moved."""
    statements: list[tuple[str, Any]] = []

    def kept(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(kept):
        moved = Job.objects.progress_step(
            job.pk, provider="piapi", task_id=TASK_ID, secret=job.webhook_secret, progress=progress
        )
    assert moved is not None
    assert moved.progress == progress
    return statements


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL's planner chooses the index; this runs in CI's PostgreSQL pass",
)
@pytest.mark.django_db(transaction=True)  # as a webhook runs it: its own transaction
def test_a_progress_step_reads_its_own_job_alone_however_many_are_running(
    job: Job, project: Any, bob: Any
) -> None:
    # A table with no statistics yet (a new database, before autovacuum's ANALYZE), and
    # hundreds of jobs running: 50 webhooks a second each read only their own job.
    Job.objects.bulk_create(
        Job(
            project=project,
            created_by=bob,
            operation="imagine",
            prompt=f"running {n}",
            status=Status.PROCESSING,
            provider_task_id=f"task-{n}",
        )
        for n in range(400)
    )
    job = running(job)
    [(sql, params)] = progress_step_statements(job, 60)
    params[0] = 70  # the next step, through the same plan
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        [[[explained]]] = cursor.fetchall()

    assert job_rows_read(explained["Plan"]) == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="synchronous_commit is PostgreSQL's; this runs in CI's PostgreSQL pass",
)
@pytest.mark.django_db(transaction=True)  # the step as a webhook makes it: its own transaction
def test_a_progress_steps_quick_commit_is_its_own_and_every_other_commit_waits_for_the_disk(
    job: Job,
) -> None:
    job = running(job)

    def synchronous_commit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            [[setting]] = cursor.fetchall()
        return str(setting)

    quick = "set_config('synchronous_commit', 'off', true)"

    [(alone, _)] = progress_step_statements(job, 60)
    assert quick in alone
    # The connection's next transactions (a budget's hold, say) are durable again.
    assert synchronous_commit() == "on"
    with transaction.atomic():
        # Inside a larger transaction the step leaves the setting alone: the
        # transaction's other writes must reach the disk before it is committed.
        [(within, _)] = progress_step_statements(job, 70)
        assert quick not in within
        assert synchronous_commit() == "on"
    job.refresh_from_db()
    assert job.progress == 70


def running(job: Job, **fields: Any) -> Job:
    Job.objects.filter(pk=job.pk).update(status=Status.PROCESSING, progress=45, **fields)
    job.refresh_from_db()
    return job


def legnext_processing(task_id: str, progress: int) -> dict[str, Any]:
    body = load("diffusion_pending", "legnext")
    body.update(job_id=task_id, status="processing")
    body["output"]["progress"] = progress
    return body


@pytest.mark.parametrize(
    ("url", "secret", "task_id", "status", "tried"),
    [
        ("/webhooks/piapi/{pk}/", "guess", TASK_ID, 401, True),
        ("/webhooks/piapi/{pk}/", "{other}", TASK_ID, 401, True),
        ("/webhooks/legnext/{pk}/{secret}/", "", TASK_ID, 401, True),  # not its provider
        ("/webhooks/piapi/{pk}/", "{secret}", "someone-elses-task", 400, True),
        ("/webhooks/piapi/{pk}/", "", TASK_ID, 401, False),
        # What no job's column holds is not sent to the database (it would fail there).
        ("/webhooks/piapi/{pk}/", "guess", "\ud800", 401, False),
        ("/webhooks/piapi/{pk}/", "guess", "a\u0000b", 401, False),
        ("/webhooks/legnext/{pk}/%00/", "", TASK_ID, 401, False),
        ("/webhooks/piapi/10000000000000000000000000/", "guess", TASK_ID, 401, False),
    ],
)
def test_a_running_jobs_progress_from_anyone_else_is_refused_and_moves_nothing(
    client: Client,
    job: Job,
    project: Any,
    bob: Any,
    url: str,
    secret: str,
    task_id: str,
    status: int,
    tried: bool,
) -> None:
    job = running(job)
    other = make_job(project=project, user=bob, status=Status.PROCESSING, provider_task_id=TASK_ID)
    if "legnext" in url:
        body = legnext_processing(task_id, 80)
    else:
        body = webhook_body("task_processing", task_id=task_id)
        body["data"]["output"]["progress"] = 80
    values = {"pk": job.pk, "secret": job.webhook_secret, "other": other.webhook_secret}

    with mock.patch.object(
        JobQuerySet, "progress_step", autospec=True, side_effect=JobQuerySet.progress_step
    ) as statement:
        response = client.post(
            url.format(**values),
            data=json.dumps(body),
            content_type="application/json",
            headers={"x-webhook-secret": secret.format(**values)},
        )

    assert response.status_code == status
    assert statement.called == tried  # the one statement was tried, or the input never sent
    job.refresh_from_db()
    assert job.progress == 45


@pytest.mark.parametrize("ended", [Status.FAILED, Status.CANCELED, Status.COMPLETED])
def test_a_percent_for_a_job_that_ended_is_stale(client: Client, job: Job, ended: str) -> None:
    job = running(job)
    Job.objects.filter(pk=job.pk).update(status=ended)
    body = webhook_body("task_processing")
    body["data"]["output"]["progress"] = 80

    response = post_webhook(client, job, body)

    assert response.json() == {"status": "stale"}
    job.refresh_from_db()
    assert (job.status, job.progress) == (ended, 45)


def test_a_body_that_is_no_task_from_a_stranger_is_refused_as_unauthorized(
    client: Client, job: Job
) -> None:
    running(job)
    for body in ("not json", '{"data": {"status": "processing", "output": 7}}', "[]"):
        response = client.post(
            f"/webhooks/piapi/{job.pk}/",
            data=body,
            content_type="application/json",
            headers={"x-webhook-secret": "guess"},
        )
        assert response.status_code == 401


def post_percent(
    client: Client, job: Job, progress: int, recorded: str, on_commit: Any
) -> tuple[Any, Any]:
    """Post `job`'s `progress`, and run what it does once committed, with `live`'s
    function `recorded` recorded: the answer and the record."""
    body = webhook_body("task_processing")
    body["data"]["output"]["progress"] = progress
    with (
        mock.patch.object(live, recorded, autospec=True) as record,
        on_commit(execute=True),
    ):
        return post_webhook(client, job, body), record


def test_a_running_job_waiting_with_a_note_loses_it_with_the_next_percent(
    client: Client, job: Job, django_capture_on_commit_callbacks: Any
) -> None:
    job = running(job, note="The provider is slow to answer; Studio asks again.")

    response, push = post_percent(
        client, job, 60, "push_project_html", django_capture_on_commit_callbacks
    )

    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.progress, job.note) == (60, "")
    [(_, pushed)] = [call.args for call in push.call_args_list]
    assert f'<article id="job-{job.pk}"' in pushed  # the card, without its note
    assert "slow to answer" not in pushed


def test_a_running_describes_percent_re_sends_its_card(
    client: Client, job: Job, django_capture_on_commit_callbacks: Any
) -> None:
    job = running(job, operation="describe")

    _, push_job = post_percent(client, job, 60, "push_job", django_capture_on_commit_callbacks)

    push_job.assert_called_once_with(job.pk)


def test_a_failed_task_fails_the_job_with_the_providers_reason(client: Client, job: Job) -> None:
    failed = task_from_data(load("task_failed")["data"])
    with mock.patch.object(PiAPI, "get_task", autospec=True, return_value=failed):
        post_webhook(client, job, webhook_body("task_failed"))
        StudioWorker().run_ready_tasks()

    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "rejected by moderation" in job.error


def test_a_redelivery_with_a_new_timestamp_is_still_a_duplicate(client: Client, job: Job) -> None:
    first = webhook_body("task_completed")
    again = webhook_body("task_completed")
    again["timestamp"] += 30

    post_webhook(client, job, first)
    answer = post_webhook(client, job, again)

    assert answer.json()["status"] == "duplicate"
    assert WebhookDelivery.objects.filter(job=job).count() == 1
    assert DBTaskResult.objects.filter(task_path__endswith="refresh_job").count() == 1


# A webhook goes to its view without the pages' middleware (studio/generation/middleware.py);
# what must hold for every request still holds for it.


def test_a_webhook_addressed_to_a_host_studio_does_not_serve_is_refused(
    client: Client, job: Job
) -> None:
    response = client.post(
        f"/webhooks/piapi/{job.pk}/",
        data=webhook_body("task_processing"),
        content_type="application/json",
        headers={"x-webhook-secret": job.webhook_secret, "host": "studio.attacker.example"},
    )

    assert response.status_code == 400
    job.refresh_from_db()
    assert job.status == Status.SUBMITTED


def test_a_webhook_over_the_size_limit_is_refused_before_it_is_read(
    client: Client, job: Job, settings: Any
) -> None:
    settings.REQUEST_MAX_BYTES = 1024
    body = webhook_body("task_processing", padding="x" * 2000)

    response = post_webhook(client, job, body)

    assert response.status_code == 413
    assert "Studio accepts at most 1 KB" in response.json()["error"]
    job.refresh_from_db()
    assert job.status == Status.SUBMITTED


def test_a_webhook_answer_carries_the_security_headers_and_sets_no_cookie(
    client: Client, job: Job
) -> None:
    client.cookies["sessionid"] = "a-session-the-provider-cannot-have"

    response = post_webhook(client, job, webhook_body("task_processing"))

    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert not response.cookies


def test_an_address_under_webhooks_that_names_no_job_is_not_found(client: Client) -> None:
    response = client.post("/webhooks/piapi/not-a-job/", data="{}", content_type="application/json")

    assert response.status_code == 404


def test_a_webhook_fetched_with_get_is_not_allowed(client: Client, job: Job) -> None:
    response = client.get(f"/webhooks/piapi/{job.pk}/")

    assert response.status_code == 405
