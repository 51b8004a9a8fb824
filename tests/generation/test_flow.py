"""The whole flow on real HTTP: a Studio server process (web, websockets, worker) with
its sandbox, a browser-like session submitting prompts, webhooks posted back by the
sandbox, images downloaded into storage."""

from typing import Any

from PIL import Image

from studio.generation.models import ResultImage, Status, WebhookDelivery
from studio.sandbox.models import Task as SandboxTask
from tests.conftest import StudioServer, wait_for
from tests.generation.helpers import finished, submit


def test_a_prompt_becomes_a_stored_grid(server: StudioServer, project: Any, bob: Any) -> None:
    session = server.login("bob")

    job = finished(submit(server, session, project, "a lighthouse on a cliff at dusk"))

    assert job.status == Status.COMPLETED, job.error
    assert job.provider_task_id
    assert WebhookDelivery.objects.filter(job=job).exists()  # the sandbox's webhooks arrived
    grid = job.images.get(index=ResultImage.GRID)
    quadrant = job.images.get(index=1)
    assert (grid.width, grid.height) == (2 * quadrant.width, 2 * quadrant.height)
    assert grid.width > grid.height  # 16:9
    with Image.open(grid.file.path) as stored:
        assert stored.size == (grid.width, grid.height)
    served = session.get(f"{server.url}/images/{grid.pk}/full/", timeout=10)
    assert served.status_code == 200 and served.content[:4] == b"\x89PNG"
    page = session.get(f"{server.url}/projects/{project.pk}/", timeout=10).text
    assert f"/images/{grid.pk}/thumb/" in page  # the page shows Studio's copy, not the provider's


def test_with_webhooks_dropped_polling_still_finishes_the_job(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")

    job = finished(submit(server, session, project, "a quiet harbour [sandbox:drop-webhooks]"))

    assert job.status == Status.COMPLETED, job.error
    assert not WebhookDelivery.objects.filter(job=job).exists()


def test_duplicated_webhooks_store_each_image_once(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")

    job = finished(submit(server, session, project, "twin peaks [sandbox:duplicate-webhooks]"))

    assert job.status == Status.COMPLETED, job.error
    assert sorted(job.images.values_list("index", flat=True)) == [0, 1, 2, 3, 4]


def test_reordered_webhooks_never_take_a_job_back(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")

    job = finished(submit(server, session, project, "a spiral stair [sandbox:reorder-webhooks]"))
    # The final state was sent first: stale ones have been answered after it.
    wait_for(
        lambda: SandboxTask.objects.get(task_id=job.provider_task_id).webhooks_delivered >= 3,
        what="late webhooks",
    )

    job.refresh_from_db()
    assert (job.status, job.progress) == (Status.COMPLETED, 100)


def test_a_failed_task_shows_the_providers_reason(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")

    job = finished(submit(server, session, project, "doomed [sandbox:fail]"))

    assert job.status == Status.FAILED
    assert "told to fail" in job.error
    page = session.get(f"{server.url}/projects/{project.pk}/", timeout=10).text
    assert "told to fail" in page


def test_a_moderated_prompt_fails_with_the_moderation_reason(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")

    job = finished(submit(server, session, project, "forbidden [sandbox:moderate]"))

    assert job.status == Status.FAILED
    assert "moderation" in job.error.lower()


def test_a_rate_limited_submission_is_retried_and_completes(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")

    job = finished(submit(server, session, project, "busy day [sandbox:http-429-once]"))

    assert job.status == Status.COMPLETED, job.error


def test_a_rejected_key_fails_the_job_saying_so(
    server: StudioServer, project: Any, bob: Any
) -> None:
    session = server.login("bob")

    job = finished(submit(server, session, project, "locked out [sandbox:http-401]"))

    assert job.status == Status.FAILED
    assert "API key" in job.error
