import base64
import io
from typing import Any

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from studio.generation.actions import split_description
from studio.generation.models import Job, ResultImage, Status
from studio.generation.services import (
    FollowUpRefused,
    job_cancel,
    job_follow_up,
    job_seed,
    task_request,
)
from studio.generation.tree import family_of
from studio.providers.piapi import action_from_name, task_input
from tests.factories import make_job, make_png

GRID_ACTIONS = [
    "reroll",
    "upscale1",
    "upscale2",
    "upscale3",
    "upscale4",
    "variation1",
    "variation2",
    "variation3",
    "variation4",
]
UPSCALE_ACTIONS = [
    "upscale_subtle",
    "upscale_creative",
    "high_variation",
    "low_variation",
    "inpaint",
    "outpaint_1.5x",
    "outpaint_2x",
    "pan_left",
    "pan_right",
    "pan_up",
    "pan_down",
]


@pytest.mark.parametrize(
    ("name", "operation", "parameters", "label"),
    [
        ("upscale3", "upscale", {"index": "3"}, "U3"),
        ("variation1", "variation", {"index": "1"}, "V1"),
        ("reroll", "reroll", {}, "Reroll"),
        ("upscale_subtle", "upscale", {"index": "subtle"}, "Upscale (Subtle)"),
        ("upscale_creative", "upscale", {"index": "creative"}, "Upscale (Creative)"),
        ("high_variation", "variation", {"index": "high_variation"}, "Vary (Strong)"),
        ("low_variation", "variation", {"index": "low_variation"}, "Vary (Subtle)"),
        ("outpaint_1.5x", "outpaint", {"zoom_ratio": "1.5"}, "Zoom Out 1.5×"),
        ("outpaint_2x", "outpaint", {"zoom_ratio": "2"}, "Zoom Out 2×"),
        ("pan_up", "pan", {"direction": "up"}, "↑"),
        ("inpaint", "inpaint", {}, "Vary (Region)"),
    ],
)
def test_each_provider_action_maps_to_its_task(
    name: str, operation: str, parameters: dict[str, str], label: str
) -> None:
    action = action_from_name(name)

    assert action is not None
    assert (action.operation, action.parameters, action.label) == (operation, parameters, label)


@pytest.mark.parametrize(
    "name", ["upscale5", "upscale0", "pan_diagonal", "outpaint_3x", "video", ""]
)
def test_actions_studio_does_not_know_are_not_offered(name: str) -> None:
    assert action_from_name(name) is None


def test_a_describe_answer_splits_into_four_prompts() -> None:
    text = "1️⃣ a red barn --ar 3:2\n\n2️⃣ a barn at dusk\n\n3️⃣ rural scene\n\n4️⃣ farm, oil painting"

    assert split_description(text) == [
        "a red barn --ar 3:2",
        "a barn at dusk",
        "rural scene",
        "farm, oil painting",
    ]


@pytest.fixture
def grid(project: Any, bob: Any) -> Job:
    job = make_job(project=project, user=bob, status=Status.COMPLETED, provider_task_id="t-grid")
    Job.objects.filter(pk=job.pk).update(root=job, output={"actions": GRID_ACTIONS})
    job.refresh_from_db()
    return job


@pytest.fixture
def upscale(grid: Job, bob: Any) -> Job:
    job = make_job(
        project=grid.project,
        user=bob,
        parent=grid,
        root=grid,
        operation="upscale",
        parameters={"index": "2"},
        status=Status.COMPLETED,
        output={"actions": UPSCALE_ACTIONS},
    )
    image = ResultImage(job=job, index=0, width=1024, height=1024)
    image.file.save("u.png", ContentFile(make_png(size=(1024, 1024))), save=False)
    image.thumbnail.save("u.webp", ContentFile(b""), save=False)
    image.save()
    return job


def mask_png(size: tuple[int, int], *, white: bool = True) -> str:
    mask = Image.new("L", size, 0)
    if white:
        mask.paste(255, (0, 0, size[0] // 2, size[1] // 2))
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_grid_offers_u_v_and_reroll_but_not_pan(grid: Job) -> None:
    names = [action.name for action in grid.actions]

    assert names == GRID_ACTIONS
    with pytest.raises(FollowUpRefused, match="not offered"):
        job_follow_up(parent=grid, user=grid.created_by, action_name="pan_left")


def test_a_follow_up_is_a_queued_child_in_the_same_family(grid: Job, bob: Any) -> None:
    child = job_follow_up(parent=grid, user=bob, action_name="upscale4")

    assert (child.parent, child.root, child.operation, child.status) == (
        grid,
        grid,
        "upscale",
        Status.QUEUED,
    )
    assert child.parameters == {"index": "4", "step": "U4"}
    assert child.process_mode == grid.process_mode


def test_a_variation_sends_the_parents_prompt_unless_remixed(grid: Job, bob: Any) -> None:
    plain = job_follow_up(parent=grid, user=bob, action_name="variation2")
    remixed = job_follow_up(parent=grid, user=bob, action_name="variation2", prompt="in winter")

    assert task_input(task_request(plain))["prompt"] == grid.prompt
    assert task_input(task_request(remixed))["prompt"] == "in winter"


def test_an_unfinished_job_offers_nothing_yet(project: Any, bob: Any) -> None:
    running = make_job(project=project, user=bob, status=Status.PROCESSING)

    with pytest.raises(FollowUpRefused, match="not finished"):
        job_follow_up(parent=running, user=bob, action_name="upscale1")


def test_vary_region_needs_a_mask_of_the_images_size_with_something_marked(
    upscale: Job, bob: Any
) -> None:
    with pytest.raises(FollowUpRefused, match="Draw the region"):
        job_follow_up(parent=upscale, user=bob, action_name="inpaint")
    with pytest.raises(FollowUpRefused, match="is 512×512 px but the image is 1024×1024 px"):
        job_follow_up(parent=upscale, user=bob, action_name="inpaint", mask=mask_png((512, 512)))
    with pytest.raises(FollowUpRefused, match="empty"):
        job_follow_up(
            parent=upscale,
            user=bob,
            action_name="inpaint",
            mask=mask_png((1024, 1024), white=False),
        )
    with pytest.raises(FollowUpRefused, match="could not be read"):
        job_follow_up(parent=upscale, user=bob, action_name="inpaint", mask="bm90IGEgcG5n")

    child = job_follow_up(
        parent=upscale, user=bob, action_name="inpaint", mask=mask_png((1024, 1024))
    )

    assert base64.b64decode(child.parameters["mask"])[:4] == b"\x89PNG"


def test_seed_is_only_for_finished_grids(grid: Job, upscale: Job, bob: Any) -> None:
    assert job_seed(parent=grid, user=bob).operation == "seed"
    with pytest.raises(FollowUpRefused):
        job_seed(parent=upscale, user=bob)


def test_a_queued_job_is_canceled_at_once(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob)

    job_cancel(job=job)

    job.refresh_from_db()
    assert job.status == Status.CANCELED


def test_a_processing_job_cannot_be_canceled(project: Any, bob: Any) -> None:
    job = make_job(project=project, user=bob, status=Status.PROCESSING)

    with pytest.raises(FollowUpRefused, match="not started"):
        job_cancel(job=job)


def test_the_family_tree_holds_every_branch_and_the_lineage(
    grid: Job, upscale: Job, bob: Any
) -> None:
    variation = job_follow_up(parent=grid, user=bob, action_name="variation1")
    region = job_follow_up(
        parent=upscale, user=bob, action_name="inpaint", mask=mask_png((1024, 1024))
    )

    family = family_of(region)

    assert [job.pk for job in family.lineage] == [grid.pk, upscale.pk, region.pk]
    assert family.size == 4
    assert {child.job.pk for child in family.root.children} == {upscale.pk, variation.pk}
    assert [child.job.pk for child in family.root.children if child.job.pk == upscale.pk]
