"""Video through Studio and the real sandbox over HTTP: Animate one of a LegNext grid's
images (by job and image number) or any other image (by its public link), Extend a clip
up to four times, Upscale one; clips stored with their poster and preview; each job held
and charged at LegNext's prices per resolution; bad options refused before anything is
made."""

import html
from decimal import Decimal
from typing import Any

import pytest
from PIL import Image

from studio.billing.models import EntryKind, LedgerEntry
from studio.generation.models import Job, Operation, Status
from studio.media.video import clip_facts
from tests.conftest import StudioServer, wait_for
from tests.generation.test_legnext_flow import charged
from tests.generation.test_operations import finish, follow_up, hx, imagine


def animate(server: StudioServer, session: Any, project: Any, **fields: str) -> Any:
    return hx(session, f"{server.url}/projects/{project.pk}/images/animate/", data=fields)


def test_animating_a_grid_image_makes_four_stored_clips_with_posters_and_previews(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    grid = imagine(server, session, project, "a harbour at dawn")
    assert [a.name for a in grid.actions if a.operation == "animate"] == [
        f"animate:{n}" for n in range(1, 5)
    ]
    quadrant = grid.quadrant_image(3)
    assert quadrant is not None

    response = animate(
        server, session, project, source=f"result:{quadrant.pk}", motion="high", prompt="waves"
    )

    assert response.status_code == 201, response.text
    video = finish(Job.objects.get(operation=Operation.ANIMATE))
    # A follow-up of the grid (LegNext's jobId + imageNo), not a new upload.
    assert video.parent == grid and video.root_id == grid.pk
    assert video.parameters["image"] == 3 and video.parameters["motion"] == "high"
    assert video.step_label == "Animate · 480p · high motion"
    clips = video.clips
    assert [clip.index for clip in clips] == [1, 2, 3, 4]
    for clip in clips:
        facts = clip_facts(clip.video.path)
        assert (facts.width, facts.height) == (480, 480)
        assert facts.seconds == pytest.approx(5, abs=0.1)
        assert clip.duration == pytest.approx(facts.seconds)
        preview = clip_facts(clip.video_preview.path)
        assert preview.width <= 480
        with Image.open(clip.file.path) as poster:
            assert poster.format == "WEBP" and poster.size == (480, 480)
    assert charged(video) == [Decimal("0.48")]
    # Its clips are extended and upscaled from the card.
    names = [action.name for action in video.actions]
    assert "extend:2" in names and "video_upscale:4" in names


def test_a_720p_animation_of_an_upload_goes_as_a_link_and_costs_the_720p_price(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any, input_image: Any
) -> None:
    session = server.login("bob")

    response = animate(
        server,
        session,
        project,
        source=f"input:{input_image.pk}",
        resolution="720p",
        loop="1",
    )

    assert response.status_code == 201, response.text
    video = finish(Job.objects.get(operation=Operation.ANIMATE))
    assert video.parent is None and list(video.inputs.all()) == [input_image]
    assert video.clips[0].height == 720
    assert charged(video) == [Decimal("1.536")]


def test_extend_adds_four_seconds_at_most_four_times_and_upscale_doubles_a_clip(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any
) -> None:
    session = server.login("bob")
    grid = imagine(server, session, project, "a kite over a field")
    quadrant = grid.quadrant_image(1)
    assert quadrant is not None
    assert animate(server, session, project, source=f"result:{quadrant.pk}").status_code == 201
    clip_job = finish(Job.objects.get(operation=Operation.ANIMATE))

    chain = [clip_job]
    for _ in range(4):
        chain.append(follow_up(server, session, chain[-1], "extend:2"))
    last = chain[-1]
    assert last.extensions == 4
    assert last.clips[1].duration == pytest.approx(5 + 4 * 4, abs=0.2)
    assert [job.step_label for job in chain[1:]] == ["Extend clip 2 +4 s"] * 4
    assert all(charged(job) == [Decimal("0.48")] for job in chain[1:])
    fifth = hx(session, f"{server.url}/jobs/{last.pk}/follow-up/", data={"action": "extend:2"})
    assert fifth.status_code == 422
    assert "A clip can be extended 4 times; this one has been." in fifth.text

    upscaled = follow_up(server, session, chain[1], "video_upscale:3")
    assert len(upscaled.clips) == 1
    assert upscaled.clips[0].width == 2 * chain[1].clips[2].width
    assert charged(upscaled) == [Decimal("0.48")]
    # An upscaled clip is not extended again (LegNext's rule).
    assert upscaled.actions == []
    assert (
        LedgerEntry.objects.filter(kind=EntryKind.HOLD).count()
        == LedgerEntry.objects.filter(kind__in=[EntryKind.CHARGE, EntryKind.RELEASE]).count()
    )


@pytest.mark.parametrize(
    ("fields", "sentence"),
    [
        ({"motion": "wild"}, "Choose low or high motion."),
        ({"resolution": "1080p"}, "Choose 480p or 720p."),
        ({"source": "result:999999"}, "That image is not one of this project's results."),
        ({"source": ""}, "Choose an image of this project first."),
    ],
)
def test_bad_animate_options_are_refused_and_nothing_is_made(
    server: StudioServer,
    legnext_only: Any,
    project: Any,
    bob: Any,
    input_image: Any,
    fields: dict[str, str],
    sentence: str,
) -> None:
    session = server.login("bob")

    response = animate(server, session, project, **{"source": f"input:{input_image.pk}", **fields})

    assert response.status_code == 422
    assert sentence in html.unescape(response.text)
    assert not Job.objects.exists() and not LedgerEntry.objects.exists()


def test_a_team_with_only_piapi_is_told_animate_needs_legnext(
    server: StudioServer, project: Any, bob: Any, input_image: Any
) -> None:
    session = server.login("bob")

    response = animate(server, session, project, source=f"input:{input_image.pk}")

    assert response.status_code == 422
    assert "PiAPI does not offer Animate." in response.text
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "markers",
    [
        "[sandbox:ambiguous-create]",
        "[sandbox:duplicate-webhooks] [sandbox:reorder-webhooks]",
        "[sandbox:drop-webhooks]",
    ],
)
def test_a_lost_doubled_or_reordered_answer_still_makes_one_animation_charged_once(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any, input_image: Any, markers: str
) -> None:
    session = server.login("bob")

    response = animate(
        server, session, project, source=f"input:{input_image.pk}", prompt=f"drift {markers}"
    )

    assert response.status_code == 201, response.text
    video = finish(Job.objects.get(operation=Operation.ANIMATE))
    assert video.dispatch_attempts == 1
    assert [clip.index for clip in video.clips] == [1, 2, 3, 4]
    assert charged(video) == [Decimal("0.48")]
    assert Job.objects.count() == 1


def test_a_failed_animation_is_not_charged_and_its_card_says_so(
    server: StudioServer, legnext_only: Any, project: Any, bob: Any, input_image: Any
) -> None:
    session = server.login("bob")

    animate(server, session, project, source=f"input:{input_image.pk}", prompt="[sandbox:fail]")

    video = Job.objects.get(operation=Operation.ANIMATE)
    failed = wait_for(
        lambda: video if (video.refresh_from_db() or video.is_finished) else None,
        timeout=40,
        what="the animation to fail",
    )
    assert failed.status == Status.FAILED and not failed.clips
    assert charged(failed) == []
    assert LedgerEntry.objects.filter(job=failed, kind=EntryKind.RELEASE).count() == 1
    page = session.get(f"{server.url}/projects/{project.pk}/", timeout=15).text
    assert "Not charged" in page
