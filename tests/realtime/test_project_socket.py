from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django_tasks_db.models import DBTaskResult

from studio.asgi import application
from studio.generation import live, services
from studio.generation.models import Job, Operation, Status
from studio.providers.base import ProviderTask
from tests.factories import make_job, make_project
from tests.realtime.sockets import communicator, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_gets_the_current_jobs_then_every_change(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, prompt="a fox <b>bold</b>", status=Status.SUBMITTED)

    socket = communicator(project, user=bob)

    async def scenario() -> tuple[str, str]:
        connected, _ = await socket.connect()
        assert connected
        snapshot = await socket.receive_from(timeout=5)
        await sync_to_async(Job.objects.filter(pk=job.pk).update)(
            status=Status.PROCESSING, progress=60
        )
        await sync_to_async(live.push_job)(job.pk)
        update = await socket.receive_from(timeout=5)
        await socket.disconnect()
        return snapshot, update

    snapshot, update = async_to_sync(scenario)()

    # The job as a feed entry: it refreshes the card where the page shows it.
    assert f'data-feed-entry="job-{job.pk}"' in snapshot
    assert f'id="job-{job.pk}"' in snapshot
    assert f'<article id="job-{job.pk}"' in update and 'hx-swap-oob="true"' in update
    assert 'value="60"' in update
    assert "a fox &lt;b&gt;bold&lt;/b&gt;" in update  # a prompt is text, never markup


def test_a_progress_step_pushes_the_new_percentage_and_not_the_whole_card(
    project: Any, bob: Any
) -> None:
    """Most of a running job's news is a new percentage, many times a second: pages get
    the figure where they show it (the card's pill and bar, the tree's chip), and only a
    change of state re-sends the card."""
    job = make_job(project=project, user=bob, prompt="a fox", status=Status.SUBMITTED)
    job.provider_task_id = "task-1"
    job.save(update_fields=["provider_task_id"])
    socket = communicator(project, user=bob)

    def news(progress: int) -> None:
        task = ProviderTask("task-1", "imagine", "processing", progress=progress)
        services.job_apply_provider_task(Job.objects.get(pk=job.pk), task)

    async def scenario() -> tuple[str, str]:
        await socket.connect()
        await socket.receive_from(timeout=5)
        await sync_to_async(news)(10)  # submitted → processing: a new state
        started = await socket.receive_from(timeout=5)
        await sync_to_async(news)(42)
        step = await socket.receive_from(timeout=5)
        await socket.disconnect()
        return started, step

    started, step = async_to_sync(scenario)()

    assert f'<article id="job-{job.pk}"' in started and 'value="10"' in started
    assert f'<article id="job-{job.pk}"' not in step
    assert f'id="status-pill-{job.pk}" hx-swap-oob="true">42%</span>' in step
    assert f'id="progress-bar-{job.pk}" max="100" value="42"' in step
    assert f'id="tree-chip-{job.pk}" hx-swap-oob="true">42%' in step


def pushed_on(project: Any, user: Any, job: Job, task: ProviderTask) -> str:
    """What `user`'s socket on `project` receives when the provider's `task` is applied
    to `job` (after the state it gets on connecting)."""
    socket = communicator(project, user=user)

    async def scenario() -> str:
        await socket.connect()
        await socket.receive_from(timeout=5)
        running = await sync_to_async(Job.objects.get)(pk=job.pk)
        await sync_to_async(services.job_apply_provider_task)(running, task)
        message = await socket.receive_from(timeout=5)
        await socket.disconnect()
        return message

    return async_to_sync(scenario)()


def test_a_grid_done_at_the_provider_shows_it_is_being_saved_until_its_card_comes_with_it(
    project: Any, bob: Any
) -> None:
    """A running job whose images are done: its pill says they are being saved (and its
    bar is full) at once; the card itself comes with the grid, once it is stored — not
    twice, first without it."""
    job = make_job(project=project, user=bob, prompt="a fox", status=Status.PROCESSING)
    Job.objects.filter(pk=job.pk).update(provider_task_id="task-1", progress=80)
    done = ProviderTask(
        "task-1",
        "imagine",
        "completed",
        image_url="https://cdn.example/grid.png",
        quadrant_urls=[f"https://cdn.example/{n}.png" for n in range(1, 5)],
    )

    message = pushed_on(project, bob, job, done)

    assert Job.objects.get(pk=job.pk).status == Status.COMPLETED
    assert f'<article id="job-{job.pk}"' not in message
    assert f'id="status-pill-{job.pk}" hx-swap-oob="true">Saving images…</span>' in message
    assert f'id="progress-bar-{job.pk}" max="100" value="100"' in message
    # The images are stored next (the worker's task), and their push brings the card.
    assert DBTaskResult.objects.filter(task_path__endswith="store_results").count() == 1


def test_clips_done_at_the_provider_show_their_card_completed_at_once(
    project: Any, bob: Any
) -> None:
    """Clips take longer to download than a grid: their card shows the job completed
    (saving its clips) at once, not only its pill."""
    job = make_job(project=project, user=bob, operation=Operation.ANIMATE, status=Status.PROCESSING)
    Job.objects.filter(pk=job.pk).update(provider_task_id="task-1", progress=80)
    done = ProviderTask("task-1", "video", "completed", video_urls=["https://cdn.example/clip.mp4"])

    message = pushed_on(project, bob, job, done)

    assert f'<article id="job-{job.pk}" class="job-card is-completed' in message
    assert "Saving clips…" in message


def test_a_new_job_is_pushed_to_the_top_of_every_viewers_list(
    project: Any, bob: Any, alice: Any
) -> None:
    socket = communicator(project, user=alice)

    async def scenario() -> str:
        await socket.connect()
        await socket.receive_from(timeout=5)
        job = await sync_to_async(make_job)(project=project, user=bob, prompt="new one")
        await sync_to_async(live.push_job)(job.pk, created=True)
        message = await socket.receive_from(timeout=5)
        await socket.disconnect()
        return message

    message = async_to_sync(scenario)()

    assert 'hx-swap-oob="afterbegin:#job-list"' in message
    assert "new one" in message


def test_an_outsider_cannot_join_the_projects_group(project: Any, charlie: Any) -> None:
    socket = communicator(project, user=charlie)

    async def scenario() -> bool:
        connected, _ = await socket.connect()
        await socket.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


def test_a_visitor_who_is_not_logged_in_cannot_join(project: Any) -> None:
    socket = communicator(project)

    async def scenario() -> bool:
        connected, _ = await socket.connect()
        await socket.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


def test_a_socket_from_another_origin_is_refused(project: Any, bob: Any) -> None:
    socket = communicator(project, user=bob, origin=b"https://evil.example")

    async def scenario() -> bool:
        connected, _ = await socket.connect()
        await socket.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


def test_an_outsider_receives_nothing_pushed_to_a_project_they_are_not_in(
    project: Any, bob: Any, charlie: Any
) -> None:
    other = make_project(team=charlie.memberships.get().team, name="Theirs")

    socket = communicator(other, user=charlie)

    async def scenario() -> bool:
        await socket.connect()
        await socket.receive_from(timeout=5)  # their own (empty) snapshot
        job = await sync_to_async(make_job)(project=project, user=bob)
        await sync_to_async(live.push_job)(job.pk)
        nothing = await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()
        return nothing

    assert async_to_sync(scenario)() is True


def test_the_gallery_socket_gets_no_job_list_to_resync(project: Any, bob: Any) -> None:
    make_job(project=project, user=bob)
    headers = [(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000")]
    headers.append((b"cookie", session_cookie(bob)))
    socket = WebsocketCommunicator(
        application, f"/ws/projects/{project.pk}/?view=gallery", headers=headers
    )

    async def scenario() -> list[str]:
        connected, _ = await socket.connect()
        assert connected
        received = []
        while not await socket.receive_nothing(timeout=0.5):
            received.append(await socket.receive_from())
        await socket.disconnect()
        return received

    assert not any("data-feed-entry" in message for message in async_to_sync(scenario)())


@pytest.mark.usefixtures("in_memory_layer")
def test_a_closed_socket_leaves_every_group_even_when_leaving_one_fails(
    project: Any, bob: Any, monkeypatch: Any
) -> None:
    layer = get_channel_layer()
    socket = communicator(project, user=bob)
    discard = layer.group_discard  # type: ignore[union-attr]

    async def refused_for_the_account(group: str, channel: str) -> None:
        if group.startswith("account-"):
            raise ConnectionError("too many connections")
        await discard(group, channel)

    async def scenario() -> list[str]:
        await socket.connect()
        await socket.receive_from(timeout=5)
        monkeypatch.setattr(layer, "group_discard", refused_for_the_account)
        await socket.disconnect()
        return [group for group, members in layer.groups.items() if members]  # type: ignore[union-attr]

    # Only the one that failed; the process's hub left the project's and team's groups
    # with the last socket watching them.
    assert async_to_sync(scenario)() == [f"account-{bob.pk}"]
