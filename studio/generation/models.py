import hashlib
import hmac
import secrets
from dataclasses import replace
from datetime import timedelta
from functools import cache, cached_property
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.db import connections, models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from studio.accounts.models import Membership, Role, User
from studio.generation import prompting
from studio.generation.actions import split_description, step_label
from studio.projects.models import Project
from studio.providers import CHOICES as PROVIDER_CHOICES
from studio.providers import Provider, provider_class
from studio.providers.base import Action


class Operation(models.TextChoices):
    IMAGINE = "imagine", "Imagine"
    UPSCALE = "upscale", "Upscale"
    VARIATION = "variation", "Variation"
    REROLL = "reroll", "Reroll"
    DESCRIBE = "describe", "Describe"
    BLEND = "blend", "Blend"
    INPAINT = "inpaint", "Vary (Region)"
    OUTPAINT = "outpaint", "Zoom Out"
    PAN = "pan", "Pan"
    SEED = "seed", "Seed"
    REMIX = "remix", "Remix"
    ENHANCE = "enhance", "Enhance"
    SHORTEN = "shorten", "Shorten"
    # Video (LegNext): an image animated into four clips, a clip made 4 s longer, a clip
    # upscaled.
    ANIMATE = "animate", "Animate"
    EXTEND = "extend", "Extend"
    VIDEO_UPSCALE = "video_upscale", "Upscale (video)"
    # The newer edits (LegNext): an image in another material or style, its background
    # cut out, an image repainted on a larger canvas.
    RETEXTURE = "retexture", "Retexture"
    REMOVE_BACKGROUND = "remove_bg", "Remove background"
    EDIT = "edit", "Edit"


class ProcessMode(models.TextChoices):
    RELAX = "relax", "Relax"
    FAST = "fast", "Fast"
    TURBO = "turbo", "Turbo"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"  # in Studio, not yet sent to the provider (or being sent)
    # The create was sent but its answer was lost: the provider may have the task. The
    # job waits for the task's webhook, and is never sent again.
    UNCONFIRMED = "unconfirmed", "Sent — waiting for the provider to confirm"
    # Still unconfirmed at the deadline: an admin settles its hold (a late webhook still
    # completes it).
    UNKNOWN = "unknown", "Outcome unknown"
    SUBMITTED = "submitted", "Waiting"  # the provider has it (pending or staged)
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


# A job's status only moves up this ladder; the last rung has three ends. Unconfirmed
# and unknown sit below "waiting", so the task's first webhook can still move them on.
STATUS_RANK = {
    Status.QUEUED: 0,
    Status.UNCONFIRMED: 1,
    Status.UNKNOWN: 2,
    Status.SUBMITTED: 3,
    Status.PROCESSING: 4,
    Status.COMPLETED: 5,
    Status.FAILED: 5,
    Status.CANCELED: 5,
}
# Jobs Studio is still working on (an unknown one waits for an admin instead).
ACTIVE_STATUSES = [Status.QUEUED, Status.UNCONFIRMED, Status.SUBMITTED, Status.PROCESSING]
FINISHED_STATUSES = [Status.COMPLETED, Status.FAILED, Status.CANCELED]
# What a job's result is, by operation: a single image, text, or (all others) a grid.
SINGLE_IMAGE_OPERATIONS = [Operation.UPSCALE, Operation.ENHANCE, Operation.REMOVE_BACKGROUND]
TEXT_OPERATIONS = [Operation.DESCRIBE, Operation.SEED, Operation.SHORTEN]
# Jobs whose result is clips (numbered from 1, no whole "grid" image).
VIDEO_OPERATIONS = [Operation.ANIMATE, Operation.EXTEND, Operation.VIDEO_UPSCALE]
# A clip is extended by 4 s at most this many times (LegNext's limit).
MAX_EXTENSIONS = 4
# The operations that render the prompt anew, and so make a draft when it says --draft;
# Enhance and Vary re-render a draft at full quality (and full price).
DRAFT_OPERATIONS = [Operation.IMAGINE, Operation.REROLL]


def makes_draft(operation: str, prompt: str) -> bool:
    """Whether a job of `operation` with `prompt` makes a V7 draft (at half the price)."""
    return operation in DRAFT_OPERATIONS and prompting.is_draft(prompt)


# Provider statuses (lowercase on the wire) mapped to ours.
PROVIDER_STATUS = {
    "pending": Status.SUBMITTED,
    "staged": Status.SUBMITTED,
    "processing": Status.PROCESSING,
    "completed": Status.COMPLETED,
    "failed": Status.FAILED,
}


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class JobQuerySet(models.QuerySet["Job"]):
    def for_project(self, project: Project) -> "JobQuerySet":
        return self.filter(project=project)

    def active(self) -> "JobQuerySet":
        """Jobs that have not reached an end (queued, waiting or processing)."""
        return self.filter(status__in=ACTIVE_STATUSES)

    def recent_prompts(self, *, user: User, limit: int = 20) -> list[str]:
        """The user's last `limit` distinct prompts of new images (imagines), newest
        first, for the composer's history; one query over a bounded window."""
        prompts = (
            self.filter(created_by=user, operation=Operation.IMAGINE)
            .exclude(prompt="")
            .order_by("-created_at", "-pk")
            .values_list("prompt", flat=True)[: limit * 5]
        )
        return list(dict.fromkeys(prompts))[:limit]

    def holding_a_slot(self) -> "JobQuerySet":
        """Active jobs that count against the team's concurrency limit: given a slot, and
        with news in the last JOB_SLOT_TIMEOUT_SECONDS. A job stuck without news (an
        unconfirmed create, a task that stopped moving) gives its slot up, so it can
        never block the team's queue for long."""
        alive_since = timezone.now() - timedelta(seconds=settings.JOB_SLOT_TIMEOUT_SECONDS)
        return self.active().filter(dispatched_at__isnull=False, last_event_at__gte=alive_since)

    def waiting_for_a_slot(self) -> "JobQuerySet":
        """Queued jobs not yet given one of the team's slots, oldest first."""
        return self.filter(status=Status.QUEUED, dispatched_at__isnull=True).order_by(
            "created_at", "pk"
        )

    def can_advance_to(self, status: str, progress: int | None = None) -> "JobQuerySet":
        """Jobs whose status may move to `status`: strictly up the ladder, or, while
        processing, to a higher progress."""
        lower = [s for s, rank in STATUS_RANK.items() if rank < STATUS_RANK[Status(status)]]
        condition = Q(status__in=lower)
        if status == Status.PROCESSING and progress is not None:
            condition |= Q(status=Status.PROCESSING, progress__lt=progress)
        return self.filter(condition)

    def progress_step(
        self, job_id: int, *, provider: str, task_id: str, secret: str, progress: int
    ) -> "Job | None":
        """A webhook's commonest news in one statement (many a second): the job `job_id`,
        processing with no note, moved to a higher `progress` if the webhook is its own
        (its provider, its task, its secret), and read back, with its API task if it has
        one. None if any of that does not hold: the caller reads the job and decides
        (can_advance_to's ladder, up one rung, for the rest)."""
        self._for_write = True  # as update() does: the database written to
        connection = connections[self.db]
        table, columns, api_task, converters = _progress_step_sql(self.db)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        # Its own transaction on PostgreSQL (autocommit: no atomic block, no transaction
        # begun by hand): committed without waiting for the WAL to reach the disk
        # (synchronous_commit, for this transaction alone). A crash of the database
        # within its next fraction of a second may forget the step, a percent the next
        # webhook brings back; nothing else is written here.
        quick_commit = (
            "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS quick_commit "
            if connection.vendor == "postgresql" and connection.get_autocommit()
            else ""
        )
        # Names of tables and columns, quoted; the values are parameters. The job is found
        # by its id whatever the statistics say: without any (a new database, a table
        # not yet analyzed) PostgreSQL chose the index on status and read every running
        # job's row (1,500 running: 1.7 ms, not 0.9); `status || ''` is served by no index.
        sql = (
            f"UPDATE {table} SET progress = %s, last_event_at = %s {quick_commit}"  # noqa: S608
            "WHERE id = %s AND provider = %s AND provider_task_id = %s "
            "AND webhook_secret = %s AND status || '' = %s AND note = '' AND progress < %s "
            f"RETURNING {columns}, {api_task}"
        )
        params = [progress, now, job_id, provider, task_id, secret, Status.PROCESSING, progress]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        fields = self.model._meta.concrete_fields
        compiler = self.query.get_compiler(self.db)
        [values] = compiler.apply_converters([row[: len(fields)]], converters)
        job = self.model.from_db(self.db, [field.attname for field in fields], values)
        api_task_id, endpoint = row[len(fields) :]
        rel = self.model._meta.get_field("api_task")
        rel.set_cached_value(  # type: ignore[union-attr]
            job,
            None
            if api_task_id is None
            else rel.related_model.from_db(  # type: ignore[union-attr]
                self.db, ["id", "job_id", "webhook_endpoint"], [api_task_id, job.pk, endpoint]
            ),
        )
        return job

    def family_of(self, job: "Job") -> "JobQuerySet":
        """Every job grown from the same root as `job` (an imagine, describe or blend)."""
        return self.filter(root_id=job.root_id or job.pk)

    def stale(self, *, quiet_since: Any) -> "JobQuerySet":
        """Jobs at the provider with no news, and not polled, since `quiet_since`."""
        return self.filter(
            Q(polled_at__isnull=True) | Q(polled_at__lt=quiet_since),
            status__in=[Status.SUBMITTED, Status.PROCESSING],
            last_event_at__lt=quiet_since,
        )

    def overdue(self, deadline: Any) -> "JobQuerySet":
        """Jobs past `deadline` that Studio may end by itself: queued ones never sent,
        made before it, and ones at the provider, sent before it. A create on its way and
        an unconfirmed one are not among them: the provider may have their task."""
        at_provider = Q(status__in=[Status.SUBMITTED, Status.PROCESSING]) & (
            Q(submitted_at__lt=deadline) | Q(submitted_at__isnull=True, created_at__lt=deadline)
        )
        unsent = Q(status=Status.QUEUED, sent_at__isnull=True, created_at__lt=deadline)
        return self.filter(at_provider | unsent)

    def sending_since(self, moment: Any) -> "JobQuerySet":
        """Queued jobs whose create went out before `moment` and never came back: the
        worker sending it stopped (or hangs), so the provider may have the task."""
        return self.filter(status=Status.QUEUED, sent_at__lt=moment)

    def unsettled(self) -> "JobQuerySet":
        """Jobs whose outcome stayed unknown and whose hold no one has settled yet."""
        return self.filter(status=Status.UNKNOWN).exclude(ledger__kind__in=["charge", "release"])


@cache
def _progress_step_sql(alias: str) -> tuple[str, str, str, dict[int, Any]]:
    """For JobQuerySet.progress_step: the job table's name, its columns, and its API task's
    id and endpoint (two subqueries), quoted for the database `alias`; and the converters
    of the columns' values, as a query's compiler finds them (found anew for each
    webhook, they took 0.1-0.25 ms of its CPU)."""
    quote = connections[alias].ops.quote_name
    job_table = quote(Job._meta.db_table)
    api: Any = Job._meta.get_field("api_task").related_model._meta  # type: ignore[union-attr]
    fields: Any = Job._meta.concrete_fields
    columns = ", ".join(f"{job_table}.{quote(field.column)}" for field in fields)
    of_job = (
        f"FROM {quote(api.db_table)} WHERE {quote(api.get_field('job').column)} = {job_table}.id"
    )
    api_task = (
        f"(SELECT {quote(api.pk.column)} {of_job}), "
        f"(SELECT {quote(api.get_field('webhook_endpoint').column)} {of_job})"
    )
    # Shared by every thread: the fields' converters keep no state, and SQLite's of a
    # datetime reads only the connection's time zone, the same for all of them.
    compiler = Job.objects.none().query.get_compiler(alias)
    converters = compiler.get_converters([field.get_col(Job._meta.db_table) for field in fields])
    return job_table, columns, api_task, converters


class Job(models.Model):
    """One task at the provider, and where it stands."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # The imagine, describe or blend this job's family grew from (itself for those).
    root = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="family"
    )
    operation = models.CharField(max_length=16, choices=Operation.choices)
    prompt = models.TextField(blank=True)
    aspect_ratio = models.CharField(max_length=9, default="1:1")
    process_mode = models.CharField(
        max_length=5, choices=ProcessMode.choices, default=ProcessMode.FAST
    )
    # The provider's `input` beyond prompt, aspect ratio and mode (index, direction, …).
    parameters = models.JSONField(default=dict, blank=True)
    # The panel's Midjourney parameters as given (for showing and re-using them).
    prompt_parameters = models.JSONField(default=dict, blank=True)
    inputs = models.ManyToManyField("inputs.InputImage", blank=True, related_name="jobs")
    # What Studio last learned that the card should say while the job is not done:
    # a refused cancel, a provider that is busy, an answer that was lost.
    note = models.CharField(max_length=300, blank=True)

    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    provider_task_id = models.CharField(max_length=64, blank=True, db_index=True)
    # Whose API runs it (see studio.providers): chosen when the job is made, the next
    # provider's if its keys are refused; a follow-up's is its parent's.
    provider = models.CharField(max_length=12, choices=PROVIDER_CHOICES, default="piapi")
    # The key that created the task (the provider shows a task only to its own key).
    provider_key = models.ForeignKey(
        "accounts.ProviderKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    webhook_secret = models.CharField(max_length=64, default=new_webhook_secret)
    dispatch_attempts = models.PositiveSmallIntegerField(default=0)
    # When the job took one of the team's concurrency slots (it is sent right after).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # When its create went out, stored (and committed) before the request is sent: a
    # job with a send in flight is never sent again. Cleared when the provider clearly
    # refused (nothing was made).
    sent_at = models.DateTimeField(null=True, blank=True)
    # What the provider said at the end: actions offered, upstream URLs (temporary).
    output = models.JSONField(default=dict, blank=True)
    preview = models.ImageField(upload_to="previews/", blank=True)
    # The provider finished, but its images could not be downloaded after retries.
    result_lost_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # The last news of the job (a status or progress change); polls do not count.
    last_event_at = models.DateTimeField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at"]),
            # The gallery's filter offers the ratios a project used (gallery.queries).
            models.Index(fields=["project", "aspect_ratio"], name="job_project_aspect"),
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def status_rank(self) -> int:
        """Its rung on the status ladder: a page keeps the card of the higher one when two
        copies of it arrive out of order (a push can overtake the submitter's answer)."""
        return STATUS_RANK[Status(self.status)]

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def is_sending(self) -> bool:
        """Its create is on the way: not yet clearly made, not clearly refused."""
        return self.status == Status.QUEUED and self.sent_at is not None

    @property
    def api(self) -> type[Provider]:
        """The provider that runs (or ran) this job."""
        return provider_class(self.provider)

    @property
    def provider_label(self) -> str:
        return self.api.label

    @cached_property
    def follow_up_url(self) -> str:
        """Where its follow-ups are posted: found once for a card's fifty buttons."""
        return reverse("generation:follow-up", args=[self.pk])

    @property
    def may_cancel(self) -> bool:
        """Cancel is offered while nothing can have been made (queued, not sent) or the
        provider still holds the task unstarted (waiting) and can cancel it."""
        return (self.status == Status.QUEUED and self.sent_at is None) or (
            self.status == Status.SUBMITTED and self.api.can_cancel
        )

    @property
    def why_no_cancel(self) -> str:
        """Why an unfinished job shows no working Cancel, where the provider is the reason."""
        if self.is_active and not self.may_cancel and not self.api.can_cancel:
            return (
                f"{self.provider_label} cannot cancel a job once it has it; only jobs still "
                "waiting in Studio's queue can be canceled."
            )
        return ""

    @property
    def has_grid(self) -> bool:
        """Whether the result is a 2×2 grid (else a single image, clips, text, or nothing)."""
        return self.operation not in SINGLE_IMAGE_OPERATIONS + TEXT_OPERATIONS + VIDEO_OPERATIONS

    @property
    def makes_clips(self) -> bool:
        """Whether the result is video clips (stored as result images with a video)."""
        return self.operation in VIDEO_OPERATIONS

    @property
    def clips(self) -> list["ResultImage"]:
        return [image for image in self.images.all() if image.is_clip]

    @property
    def makes_single_image(self) -> bool:
        """Whether the result is one image (an upscale, a cut-out…), stored at index 0."""
        return self.operation in SINGLE_IMAGE_OPERATIONS

    @property
    def has_alpha(self) -> bool:
        """A cut-out (remove background): shown on a checkerboard, kept as PNG."""
        return self.operation == Operation.REMOVE_BACKGROUND

    @property
    def extensions(self) -> int:
        """How many times the clips' first clip has been extended to make these."""
        return int((self.parameters or {}).get("extensions") or 0)

    @property
    def makes_images(self) -> bool:
        return self.operation not in TEXT_OPERATIONS

    @property
    def description_prompts(self) -> list[str]:
        """Describe's four prompts (the provider returns them in one string)."""
        return split_description((self.output or {}).get("description", ""))

    @property
    def step_label(self) -> str:
        return step_label(self.operation, self.parameters or {})

    @property
    def is_draft(self) -> bool:
        """A V7 draft grid: quicker and rougher, at half the price."""
        return makes_draft(self.operation, self.prompt)

    @property
    def actions(self) -> list[Action]:
        """The follow-ups its result offers (none until it completed)."""
        if self.status != Status.COMPLETED:
            return []
        actions = self.api.offers(self.output or {}, made_at=self.submitted_at or self.created_at)
        if self.extensions >= MAX_EXTENSIONS:
            why = f"A clip can be extended {MAX_EXTENSIONS} times; this one has been."
            actions = [
                replace(action, unavailable=why) if action.operation == Operation.EXTEND else action
                for action in actions
            ]
        return actions

    @property
    def shows_seed_without_asking(self) -> bool:
        """The provider gave the grid's seed with the result: no job, no charge."""
        return self.api.seed_in_result and bool(self.seed_value)

    @property
    def seed_value(self) -> str:
        return str((self.output or {}).get("seed", ""))

    @property
    def shortened_prompt(self) -> str:
        """A shorten job's answer: the prompt made shorter."""
        return str((self.output or {}).get("description") or "").strip()

    @property
    def important_words(self) -> list[str]:
        """A shorten job's words that matter most, in the provider's order."""
        return [str(word) for word in (self.output or {}).get("prompts") or [] if str(word).strip()]

    @property
    def result_urls(self) -> list[tuple[int, str]]:
        """What the provider made, to copy into Studio's storage, as (index, upstream
        URL): a video job's clips from 1; else the whole image (the grid) as index 0 and
        a grid's four images from 1."""
        output = self.output or {}
        if self.makes_clips:
            wanted = list(enumerate(output.get("video_urls") or [], start=1))
        else:
            wanted = [(ResultImage.GRID, output.get("image_url", ""))]
            wanted += [(i, url) for i, url in enumerate(output.get("quadrant_urls", []), start=1)]
        return [(index, url) for index, url in wanted if url]

    @property
    def quadrant_images(self) -> list["ResultImage"]:
        return [image for image in self.images.all() if image.index != ResultImage.GRID]

    def quadrant_image(self, number: int) -> "ResultImage | None":
        """Image `number` (1–4) of a grid."""
        for image in self.images.all():
            if image.index == number:
                return image
        return None

    @property
    def mask_token(self) -> str:
        """What the link to its drawn mask carries: derived from its secret, so that the
        link reveals nothing that would let anyone post its webhooks."""
        digest = hmac.new(self.webhook_secret.encode(), b"mask", hashlib.sha256)
        return digest.hexdigest()[:32]

    @property
    def grid_image(self) -> "ResultImage | None":
        """The whole result (uses prefetched images when there are)."""
        for image in self.images.all():
            if image.index == ResultImage.GRID:
                return image
        return None

    @property
    def cover_image(self) -> "ResultImage | None":
        """What stands for the result in small: the whole grid or single image, else a
        video job's first clip (its poster)."""
        return self.grid_image or next(iter(self.images.all()), None)

    @property
    def width_height(self) -> tuple[int, int]:
        """The aspect ratio as two numbers, for placeholders drawn before an image."""
        try:
            width, height = (int(part) for part in self.aspect_ratio.split(":"))
        except ValueError:
            return (1, 1)
        return (width, height)

    def may_be_canceled_by(self, membership: Membership) -> bool:
        """Members cancel their own jobs, admins anyone's in their team, viewers none.
        `membership` is of this job's team (the caller checked that)."""
        if membership.role == Role.ADMIN:
            return True
        return membership.role == Role.MEMBER and self.created_by_id == membership.user_id


class ResultImageQuerySet(models.QuerySet["ResultImage"]):
    def in_gallery(self) -> "ResultImageQuerySet":
        """What a gallery shows: the four tiles of every grid, every clip and every single
        image (an upscale, a cut-out…; not the whole grids), unless archived. (One image
        says it with `ResultImage.shown_in_gallery`.)"""
        return self.filter(archived_at__isnull=True).filter(
            Q(index__gte=1) | Q(index=0, job__operation__in=SINGLE_IMAGE_OPERATIONS)
        )

    def clips(self) -> "ResultImageQuerySet":
        return self.exclude(video="")

    def stills(self) -> "ResultImageQuerySet":
        return self.filter(video="")


class ResultImage(models.Model):
    """An image a job produced, copied into Studio's storage (upstream URLs expire).

    A clip is a result image that moves: `video` holds the mp4 as the provider made it,
    `video_preview` a small one for cards, `duration` its length, and the image fields
    its poster frame. So galleries, the lightbox, ZIPs and share links hold clips the way
    they hold images.
    """

    GRID = 0  # index 0 is the whole result (the 2×2 grid, or the single upscale)

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="images")
    # The job's project, copied here (set by `save`) so that a gallery's newest images are
    # the top of one index, whatever the database's statistics say about the join.
    # (No index of its own: result_project_newest_first starts with it.)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    index = models.PositiveSmallIntegerField()
    file = models.ImageField(upload_to="results/%Y/%m/")
    # JPEG (WebP for a cut-out; older results WebP), 1024 px: cards.
    thumbnail = models.ImageField(upload_to="thumbnails/%Y/%m/")
    # The same, 480–600 px (a 1024 px card halved): gallery tiles, tree nodes. Empty for
    # images stored before it existed.
    thumbnail_small = models.ImageField(upload_to="thumbnails/%Y/%m/", blank=True)
    # Hidden from the gallery by someone on the team (the image itself is kept).
    archived_at = models.DateTimeField(null=True, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    video = models.FileField(upload_to="videos/%Y/%m/", blank=True)
    # H.264, at most 480 px wide: what cards loop on hover.
    video_preview = models.FileField(upload_to="videos/%Y/%m/", blank=True)
    duration = models.FloatField(null=True, blank=True)  # seconds, for clips
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ResultImageQuerySet.as_manager()

    class Meta:
        ordering = ["index"]
        indexes = [
            models.Index(
                fields=["project", "-created_at", "-id"], name="result_project_newest_first"
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="one_image_per_job_index")
        ]

    def __str__(self) -> str:
        return f"image {self.index} of {self.job}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.project_id is None:
            self.project_id = self.job.project_id
        super().save(*args, **kwargs)

    @property
    def is_clip(self) -> bool:
        return bool(self.video)

    @property
    def shown_in_gallery(self) -> bool:
        """Whether a gallery shows it: what `ResultImageQuerySet.in_gallery` selects."""
        return self.archived_at is None and (
            self.index >= 1 or self.job.operation in SINGLE_IMAGE_OPERATIONS
        )

    @property
    def has_alpha(self) -> bool:
        """A cut-out (remove background): shown on a checkerboard, kept as PNG."""
        return self.job.has_alpha

    @property
    def download_extension(self) -> str:
        """What its download is: ".mp4" for a clip, ".png" for a cut-out (its alpha
        kept), else the stored file's own (".png", ".webp"…)."""
        if self.is_clip:
            return ".mp4"
        if self.has_alpha:
            return ".png"
        return PurePosixPath(self.file.name or "").suffix.lower() or ".png"

    @property
    def download_name(self) -> str:
        """`<job>-<index>.<ext>`, e.g. `12-3.mp4`: what a download is saved as."""
        return f"{self.job_id}-{self.index}{self.download_extension}"


class WebhookDeliveryQuerySet(models.QuerySet["WebhookDelivery"]):
    def record(self, job: Job, digest: str) -> bool:
        """Record a delivery of `digest` for `job`; whether it is the first. One statement
        (no read first, no transaction of its own): the same delivery at the same moment
        in another process inserts nothing, and one of the two is told it is new."""
        connection = connections[self.db]
        table = connection.ops.quote_name(self.model._meta.db_table)
        received_at = connection.ops.adapt_datetimefield_value(timezone.now())
        # The table's own name, quoted; the values are parameters.
        sql = (
            f"INSERT INTO {table} (job_id, digest, received_at) VALUES (%s, %s, %s) "  # noqa: S608
            "ON CONFLICT (job_id, digest) DO NOTHING RETURNING id"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [job.pk, digest, received_at])
            return cursor.fetchone() is not None


class WebhookDelivery(models.Model):
    """A webhook of a final state (completed, failed) already handled, so that the same
    delivery twice reads the task once. (News on the way needs none: a job only moves
    forward, so a redelivery of it changes nothing.)"""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="webhook_deliveries")
    digest = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "digest"], name="one_delivery_per_digest")
        ]

    def __str__(self) -> str:
        return f"webhook {self.digest[:8]} for {self.job_id}"


class WorkerBeat(models.Model):
    """A worker process's sign of life. Tasks left running by a worker silent for
    WORKER_DEAD_AFTER_SECONDS (killed, say) are run again by the others."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker_id} at {self.beat_at:%H:%M:%S}"
