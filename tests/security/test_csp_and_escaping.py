import logging
from typing import Any

import pytest
from django.template.loader import render_to_string
from django.test import Client

from studio.generation.live import decorate, job_card_upsert_html
from studio.generation.models import Job, Status
from tests.factories import make_job
from tests.security.routes import routes

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(2)> {{ 7*7 }} {% now 'Y' %}"


@pytest.fixture
def hostile_job(project: Any, bob: Any) -> Job:
    return make_job(project=project, user=bob, prompt=HOSTILE, status=Status.FAILED, error=HOSTILE)


def assert_inert(html: str) -> None:
    assert "<script>alert(1)" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html  # shown as typed, never evaluated


def test_a_hostile_prompt_is_text_on_the_project_and_job_pages(
    client: Client, hostile_job: Job, alice: Any
) -> None:
    client.force_login(alice)

    assert_inert(client.get(f"/projects/{hostile_job.project_id}/").content.decode())
    assert_inert(client.get(f"/jobs/{hostile_job.pk}/").content.decode())


def test_a_hostile_prompt_is_text_in_websocket_fragments(hostile_job: Job) -> None:
    decorate([hostile_job])
    pushed = render_to_string("generation/project.html#job-card", {"job": hostile_job, "oob": True})

    assert_inert(pushed)
    assert_inert(job_card_upsert_html(hostile_job))


def test_a_hostile_prompt_is_inert_in_the_ledger_export(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    from studio.generation.services import job_advance, job_submit

    job = job_submit(project=project, user=bob, prompt='=HYPERLINK("http://evil")')
    job_advance(job, status=Status.FAILED, error="=cmd|' /C calc'!A0")
    client.force_login(alice)

    csv_text = b"".join(
        client.get(f"/teams/{project.team_id}/ledger.csv").streaming_content
    ).decode()

    assert "\n=" not in csv_text and ",=" not in csv_text
    assert "'=cmd" in csv_text


def test_every_html_page_has_a_content_security_policy_with_nonces(
    client: Client, acme_things: dict[str, Any], alice: Any
) -> None:
    client.force_login(alice)
    pages = 0
    for route in routes():
        if route.route.startswith(("sandbox/", "admin/", "static/")):
            continue
        try:
            path = route.path(acme_things)
        except KeyError:
            continue
        response = client.get(path)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        pages += 1
        policy = response["Content-Security-Policy"]
        assert "script-src 'self' 'nonce-" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
        assert "frame-ancestors 'none'" in policy, path
        body = response.content.decode()
        assert "<script>" not in body, path  # every script is external or carries the nonce
    assert pages >= 5


def test_the_providers_task_json_never_reaches_the_page_or_the_log(
    client: Client, project: Any, bob: Any, caplog: Any
) -> None:
    job = make_job(project=project, user=bob, status=Status.COMPLETED, output={"actions": []})
    client.force_login(bob)

    for path in (f"/projects/{project.pk}/", f"/jobs/{job.pk}/"):
        assert job.webhook_secret not in client.get(path).content.decode()

    logger = logging.getLogger("studio.test")
    task = {
        "task_id": "t",
        "config": {"webhook_config": {"endpoint": "e", "secret": job.webhook_secret}},
    }
    with caplog.at_level(logging.INFO):
        logger.info("task %s", task)
        logger.info('raw body {"secret": "%s", "x-api-key": "pk-live-123456"}', job.webhook_secret)
    handler = logging.getLogger().handlers[0]
    for record in caplog.records:
        for log_filter in handler.filters:
            log_filter.filter(record)  # type: ignore[union-attr]
    written = "\n".join(handler.format(record) for record in caplog.records)
    assert job.webhook_secret not in written
    assert "pk-live-123456" not in written
    assert "[redacted]" in written
