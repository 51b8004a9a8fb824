"""Work made from one image Studio holds: animate it, retexture it, cut its background
out, edit it on a canvas.

The image is one of a grid's four, an upscale, a clip's poster never (clips are
extended instead), or an upload (an input image of the project). When it is a grid's
image at a provider that offers the work as a follow-up (LegNext animates and edits its
own grids by `jobId` + `imageNo`), the job is that follow-up; otherwise the image goes
to the provider as a public link, as new work at one of the team's providers that can do
it. Either way the job is checked, held and queued like any other.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studio.accounts.models import User
from studio.generation import services
from studio.generation.canvas import CanvasEdit, CanvasRefused
from studio.generation.models import Job, Operation, ProcessMode, ResultImage
from studio.generation.services import FollowUpRefused
from studio.generation.video import Animation, AnimationRefused
from studio.inputs.models import InputImage
from studio.inputs.services import input_image_from_result
from studio.projects.models import Project
from studio.providers.base import Action

# What can be made from one image, in the order menus list them.
IMAGE_WORK = (
    Operation.ANIMATE,
    Operation.RETEXTURE,
    Operation.REMOVE_BACKGROUND,
    Operation.EDIT,
)


@dataclass(frozen=True)
class Source:
    """An image named by a form: "result:<id>" (a result of the project) or "input:<id>"
    (one of its input images)."""

    result: ResultImage | None = None
    upload: InputImage | None = None

    @classmethod
    def named(cls, project: Project, name: str) -> "Source":
        kind, _, number = name.partition(":")
        if not number.isdigit() or kind not in ("result", "input"):
            raise FollowUpRefused("Choose an image of this project first.")
        if kind == "result":
            result = (
                ResultImage.objects.select_related("job")
                .filter(pk=int(number), job__project=project)
                .first()
            )
            if result is None:
                raise FollowUpRefused("That image is not one of this project's results.")
            if result.is_clip:
                raise FollowUpRefused("That is a clip: extend or upscale it instead.")
            return cls(result=result)
        upload = InputImage.objects.filter(pk=int(number), project=project).first()
        if upload is None:
            raise FollowUpRefused("That image is not one of this project's uploads.")
        return cls(upload=upload)

    def follow_up(self, operation: str) -> Action | None:
        """The follow-up of the image's own job that does `operation` on it, if offered."""
        if self.result is None or self.result.index == ResultImage.GRID:
            return None
        for action in self.result.job.actions:
            if action.operation == operation and action.image == self.result.index:
                return None if action.unavailable else action
        return None

    def as_input(self, project: Project, user: User) -> InputImage:
        """The image as one of the project's input images (which have public links)."""
        if self.upload is not None:
            return self.upload
        assert self.result is not None
        return input_image_from_result(project=project, user=user, result_id=self.result.pk)


def job_from_image(
    *,
    project: Project,
    user: User,
    operation: str,
    fields: Mapping[str, Any],
) -> Job:
    """The job `fields` (a form's) ask for: `source` and `end` name images (see
    `Source`); `prompt`, `mode`, `provider`; Animate's `motion`, `resolution`, `loop`;
    Edit's `canvas`, `placed`, `mask`. Refuses with the sentence why (FollowUpRefused;
    the input images' own errors pass through)."""
    if operation not in IMAGE_WORK:
        raise FollowUpRefused("Choose Animate, Retexture, Remove background or Edit.")
    source = Source.named(project, str(fields.get("source") or ""))
    end = Source.named(project, str(fields["end"])) if fields.get("end") else None
    try:
        animation = (
            Animation.from_fields(fields, has_end_frame=end is not None)
            if operation == Operation.ANIMATE
            else None
        )
        canvas = CanvasEdit.from_fields(fields) if operation == Operation.EDIT else None
    except (AnimationRefused, CanvasRefused) as refused:
        raise FollowUpRefused(str(refused)) from None
    prompt = str(fields.get("prompt") or "")
    end_input = end.as_input(project, user) if end else None
    action = source.follow_up(operation)
    if action is not None and source.result is not None:
        return services.job_follow_up(
            parent=source.result.job,
            user=user,
            action_name=action.name,
            prompt=prompt,
            inputs=[end_input] if end_input else [],
            animation=animation,
            canvas=canvas,
        )
    mode = str(fields.get("mode") or ProcessMode.FAST)
    if mode not in ProcessMode.values:
        raise FollowUpRefused("Choose a mode: Fast or Turbo.")
    return services.job_from_image(
        project=project,
        user=user,
        operation=operation,
        image=source.as_input(project, user),
        prompt=prompt,
        process_mode=mode,
        provider=str(fields.get("provider") or ""),
        animation=animation,
        end_frame=end_input,
        canvas=canvas,
    )
