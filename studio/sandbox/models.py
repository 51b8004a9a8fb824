"""What the sandbox stores. A task's state is not stored: it is a function of the clock
(see timeline.py), so every web process and the webhook thread agree on it. Nor are its
pictures: they are redrawn from the task and its origins (see recipes.py); only what
cannot be redrawn is kept, the input images that describe and blend fetched."""

import hashlib
import uuid

from django.db import models


def hash_api_key(api_key: str) -> str:
    # Only a hash is kept: the sandbox needs to tell keys apart, never to show one.
    return hashlib.sha256(api_key.encode()).hexdigest()


class Protocol(models.TextChoices):
    """Whose API a task was made through: it is shown, and found, only through that one."""

    PIAPI = "piapi", "PiAPI"
    LEGNEXT = "legnext", "LegNext"


class TaskStatus(models.TextChoices):
    # Lowercase on the wire, although PiAPI's docs print them capitalised.
    PENDING = "pending", "Pending"
    STAGED = "staged", "Staged"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class ResultKind(models.TextChoices):
    """What a completed task of each type produced, which decides its follow-ups."""

    GRID = "grid", "A 2×2 grid"
    UPSCALE = "upscale", "One upscaled image"
    DESCRIPTION = "description", "Four prompts"
    SEED = "seed", "A seed"
    SHORTENED = "shortened", "A shorter prompt"
    VIDEO = "video", "Video clips"
    CUTOUT = "cutout", "One image, its background cut out"


RESULT_KINDS = {
    "imagine": ResultKind.GRID,
    "variation": ResultKind.GRID,
    "reroll": ResultKind.GRID,
    "blend": ResultKind.GRID,
    "pan": ResultKind.GRID,
    "outpaint": ResultKind.GRID,
    "inpaint": ResultKind.GRID,
    "upscale": ResultKind.UPSCALE,
    "describe": ResultKind.DESCRIPTION,
    "seed": ResultKind.SEED,
    # LegNext only (PiAPI has no shorten task).
    "shorten": ResultKind.SHORTENED,
    # LegNext only: video-diffusion, extend-video, video-upscale.
    "video": ResultKind.VIDEO,
    "extend_video": ResultKind.VIDEO,
    "video_upscale": ResultKind.VIDEO,
    # LegNext only: retexture, upload-paint, edit, remove-background.
    "retexture": ResultKind.GRID,
    "upload_paint": ResultKind.GRID,
    "edit": ResultKind.GRID,
    "remove_background": ResultKind.CUTOUT,
}
# The input fields that name one image to fetch over HTTP before the task can run, in
# the order they are fetched (and kept: InputImage.position); a blend fetches its list
# of image_urls instead.
FETCHED_FIELDS = ("image_url", "mask_url", "end_url")


class TaskQuerySet(models.QuerySet["Task"]):
    def for_api_key(self, api_key: str) -> "TaskQuerySet":
        """Tasks created with this x-api-key; another key sees none of them."""
        return self.filter(api_key_hash=hash_api_key(api_key))

    def for_protocol(self, protocol: "Protocol") -> "TaskQuerySet":
        """Tasks made through this protocol's API; the other's are not there for it."""
        return self.filter(protocol=protocol)


class Task(models.Model):
    task_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    api_key_hash = models.CharField(max_length=64, db_index=True)
    # Which emulated API made the task, and so speaks for it. A LegNext task is stored in
    # the same internal form as a PiAPI one (task_type and input are the sandbox's own,
    # see studio/sandbox/legnext/translation.py) plus input["legnext"]: what LegNext
    # shows of it that the internal form does not say.
    protocol = models.CharField(max_length=10, choices=Protocol.choices, default=Protocol.PIAPI)
    model = models.CharField(max_length=40)
    task_type = models.CharField(max_length=20)
    input = models.JSONField()
    config = models.JSONField()
    behaviours = models.JSONField(default=list)
    # Seconds per timeline step, fixed at creation (SANDBOX_STEP_SECONDS, times the
    # slow factor) so that a settings change never rewrites a running task's history.
    step_seconds = models.FloatField()
    # Scheme and host the client called, e.g. "http://127.0.0.1:8000": image URLs in
    # webhooks sent later by a thread (which has no request) are built on it.
    base_url = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    canceled_at = models.DateTimeField(null=True, blank=True)
    # The task a follow-up (upscale, variation, pan, …) was made from.
    origin = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="follow_ups"
    )
    # The seed the task's pictures are drawn with (what a seed task answers), fixed at
    # creation like everything else a task's pictures depend on.
    seed = models.BigIntegerField(default=0)
    # What meta.model_version shows: from the task's own prompt, else its origin's.
    model_version = models.CharField(max_length=20, default="unknown")
    # Describe and blend: when the input images had been fetched (or had failed to be),
    # and why they failed; the timeline waits for this before it goes past progress 0.
    inputs_ready_at = models.DateTimeField(null=True, blank=True)
    input_error = models.TextField(blank=True, default="")
    # With SANDBOX_DRAW_AHEAD, a task's images are drawn while it runs (services), and it
    # is completed no earlier than when they were drawn: a provider reports images it
    # has (see timeline.step_begins_at).
    draws_ahead = models.BooleanField(default=False)
    drawn_at = models.DateTimeField(null=True, blank=True)
    # Webhooks the receiver answered 2xx (a copy of a duplicated delivery counts too), as
    # a provider's dashboard lists its deliveries.
    webhooks_delivered = models.PositiveIntegerField(default=0)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.task_type} {self.task_id}"

    def effective_prompt(self) -> str:
        """The prompt the task's pictures follow: its own (a remix), else its origin's."""
        own = str(self.input.get("prompt") or "")
        if own or self.origin is None:
            return own
        return self.origin.effective_prompt()

    @property
    def result_kind(self) -> ResultKind:
        return RESULT_KINDS[self.task_type]

    @property
    def fetches_inputs(self) -> bool:
        # Describe's image, and LegNext's: an inpaint's mask named by URL, the image a
        # video-diffusion names at the start of its prompt (and its --end image), the
        # image a retexture, upload-paint or remove-background works on.
        return self.task_type == "blend" or bool(self.fetched_fields())

    def fetched_fields(self) -> list[str]:
        """The input fields naming one image each to fetch, in the order fetched."""
        return [name for name in FETCHED_FIELDS if self.input.get(name)]

    def fetched_png(self, name: str) -> bytes | None:
        """The PNG copy of the image fetched for input field `name` (see
        FETCHED_FIELDS); None while it is not fetched (yet, or ever)."""
        fields = self.fetched_fields()
        if name not in fields:
            return None
        image = self.input_images.filter(position=fields.index(name)).first()
        return bytes(image.png) if image is not None else None

    @property
    def is_upscale_of_upscale(self) -> bool:
        return (
            self.task_type == "upscale"
            and self.origin is not None
            and self.origin.result_kind == ResultKind.UPSCALE
        )

    @property
    def webhook_endpoint(self) -> str:
        webhook_config = self.config.get("webhook_config") or {}
        return str(webhook_config.get("endpoint") or "")

    @property
    def webhook_secret(self) -> str:
        webhook_config = self.config.get("webhook_config") or {}
        return str(webhook_config.get("secret") or "")


class FiredOnceMarker(models.Model):
    """A ``-once`` behaviour that has already fired for one prompt."""

    fingerprint = models.CharField(max_length=64, unique=True)
    behaviour = models.CharField(max_length=40)
    fired_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.behaviour} {self.fingerprint[:12]}"


class InputImage(models.Model):
    """An image a describe or blend task fetched, kept as a small PNG copy (at most
    STORED_LONG_SIDE px on the long side) in the database rather than under MEDIA_ROOT:
    every web process must be able to redraw a blend's pictures, and the database is
    the one thing they all share."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="input_images")
    position = models.PositiveSmallIntegerField()
    url = models.TextField()
    # The fetched image's own size and format, before it was scaled down.
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)
    png = models.BinaryField()

    class Meta:
        ordering = ["task", "position"]
        constraints = [
            models.UniqueConstraint(fields=["task", "position"], name="sandbox_input_image_once")
        ]

    def __str__(self) -> str:
        return f"input {self.position} of {self.task_id}"
