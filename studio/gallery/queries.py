"""What a gallery shows: the project's tiles and upscales, found and ordered newest first,
a page at a time by a keyset cursor (created_at, id) so that page 200 costs what page 1
does and a new image arriving meanwhile never shifts a page.

Every page costs the same number of queries whatever its size: one for the images (with
their jobs and makers), one for the viewer's favourites among them, one for their tags.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache, cached_property
from typing import Any
from urllib.parse import urlencode

from django.db import connections, models, transaction
from django.db.models import Q
from django.urls import get_script_prefix, reverse
from django.utils.text import Truncator

from studio.accounts.models import User
from studio.billing.models import EntryKind, LedgerEntry
from studio.billing.services import dollars
from studio.gallery.models import Favourite, ImageTag, Tag
from studio.generation.menus import ImageMenu, image_menu
from studio.generation.models import (
    SINGLE_IMAGE_OPERATIONS,
    Job,
    Operation,
    ResultImage,
    ResultImageQuerySet,
    Status,
)
from studio.generation.search import (
    Cursor,
    JobFilters,
    newer_than,
    older_than,
    team_members,
)
from studio.projects.models import Project
from studio.providers.base import Action

PAGE_SIZE = 48  # divides into rows of 2, 3, 4 and 6
ALT_LENGTH = 140  # a tile's text alternative: screen readers read it whole

# What `ResultImage.objects.in_gallery()` shows, archived or not: grid tiles, clips and
# single images (an upscale, a cut-out…).
GALLERY_KINDS = Q(index__gte=1) | Q(
    index=ResultImage.GRID, job__operation__in=SINGLE_IMAGE_OPERATIONS
)

# The operations whose results land in a gallery, in the order a filter lists them.
GALLERY_OPERATIONS = [
    Operation.IMAGINE,
    Operation.VARIATION,
    Operation.REROLL,
    Operation.UPSCALE,
    Operation.BLEND,
    Operation.INPAINT,
    Operation.OUTPAINT,
    Operation.PAN,
    Operation.REMIX,
    Operation.ENHANCE,
    Operation.RETEXTURE,
    Operation.EDIT,
    Operation.REMOVE_BACKGROUND,
    Operation.ANIMATE,
    Operation.EXTEND,
    Operation.VIDEO_UPSCALE,
]


class Kind(models.TextChoices):
    """What the gallery's Kind filter picks: everything, the stills or the clips."""

    ALL = "", "All"
    IMAGES = "images", "Images"
    VIDEOS = "videos", "Videos"


@dataclass(frozen=True)
class Filters(JobFilters):
    """What the viewer asked to see; the empty filter is the whole (live) gallery."""

    aspect: str = ""
    date_from: date | None = None
    date_to: date | None = None
    favourites: bool = False
    tags: tuple[int, ...] = ()
    archived: bool = False
    kind: str = Kind.ALL

    @property
    def is_empty(self) -> bool:
        return self == Filters()

    @property
    def count(self) -> int:
        """How many of the drawer's filters are set (search, favourites and archived show
        on their own)."""
        return sum(
            bool(value)
            for value in (
                self.member,
                self.operation,
                self.mode,
                self.aspect,
                self.date_from,
                self.date_to,
                self.tags,
            )
        )

    @property
    def only_archived(self) -> bool:
        return self == Filters(archived=True)

    def query_string(self) -> str:
        """The filters as a URL's query ("?q=fox&tag=3"), "" when there are none; the same
        filters always give the same string, so a shared link reproduces the view."""
        pairs = self.query_pairs()
        if self.kind:
            pairs.append(("kind", self.kind))
        if self.aspect:
            pairs.append(("aspect", self.aspect))
        if self.date_from:
            pairs.append(("from", self.date_from.isoformat()))
        if self.date_to:
            pairs.append(("to", self.date_to.isoformat()))
        if self.favourites:
            pairs.append(("fav", "1"))
        pairs += [("tag", tag) for tag in self.tags]
        if self.archived:
            pairs.append(("archived", "1"))
        return "?" + urlencode(pairs) if pairs else ""


def gallery_images(*, project: Project, user: User, filters: Filters) -> ResultImageQuerySet:
    """The project's gallery images that match `filters`, newest first.

    Search and the filters a job has are the feed's (`JobFilters.job_condition`).
    """
    images = ResultImage.objects.filter(project=project)
    if filters.archived:
        images = images.filter(GALLERY_KINDS, archived_at__isnull=False)
    else:
        images = images.in_gallery()
    images = images.filter(filters.job_condition("job__"))
    if filters.kind == Kind.IMAGES:
        images = images.stills()
    elif filters.kind == Kind.VIDEOS:
        images = images.clips()
    if filters.aspect:
        images = images.filter(job__aspect_ratio=filters.aspect)
    if filters.date_from:
        images = images.filter(created_at__gte=_start_of(filters.date_from))
    if filters.date_to:
        images = images.filter(created_at__lt=_start_of(filters.date_to + timedelta(days=1)))
    if filters.favourites:
        images = images.filter(favourites__user=user)
    if filters.tags:
        # Any of the chosen tags; a subquery, so an image with two of them shows once.
        tagged = ImageTag.objects.filter(tag_id__in=filters.tags, tag__project=project)
        images = images.filter(pk__in=tagged.values("image_id"))
    return images.order_by("-created_at", "-id")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# An id no image has, to reverse a URL once and fill in each image's id after.
_ANY_ID = 987654321987


@cache
def _url_around_id(name: str, script_prefix: str) -> tuple[str, str]:
    before, after = reverse(name, args=[_ANY_ID]).split(str(_ANY_ID))
    return before, after


def image_url(name: str, image_id: int) -> str:
    """`reverse(name, args=[image_id])` for a URL that takes an image's id, reversed once
    (a page of 48 tiles reversed 150 URLs, a fifth of its rendering)."""
    before, after = _url_around_id(name, get_script_prefix())
    return f"{before}{image_id}{after}"


@dataclass
class GalleryItem:
    """An image as a tile shows it to one viewer."""

    image: ResultImage
    favourite: bool = False
    tags: list[Tag] = field(default_factory=list)

    def __getitem__(self, name: str) -> Any:
        # Django's templates look `item[name]` up first; answering it spares each of a
        # tile's ~30 lookups a TypeError raised and caught (a gallery page has 48 tiles).
        return getattr(self, name)

    @property
    def pk(self) -> int:
        return self.image.pk

    @cached_property  # a tile links to it twice
    def view_url(self) -> str:
        return image_url("gallery:image", self.image.pk)

    @property
    def thumb_url(self) -> str:
        return image_url("gallery:thumb", self.image.pk)

    @property
    def favourite_url(self) -> str:
        return image_url("gallery:favourite", self.image.pk)

    @property
    def job(self) -> Job:
        return self.image.job

    # What a tile shows of the image and its job, one lookup each for the template.
    @property
    def is_clip(self) -> bool:
        return self.image.is_clip

    @property
    def archived(self) -> bool:
        return self.image.archived_at is not None

    @property
    def checker(self) -> bool:
        return self.image.has_alpha

    @property
    def caption(self) -> str:
        return self.image.job.prompt or self.image.job.step_label

    @property
    def author(self) -> str:
        return self.image.job.created_by.display_name

    @property
    def aspect_class(self) -> str:
        """`ar-N`, N the width/height ratio in tenths (2–40): the tile's share of a row
        (a class, since the page's CSP allows no inline styles)."""
        width, height = self.image.width, self.image.height
        if not width or not height:
            return "ar-10"
        return f"ar-{min(40, max(2, round(width / height * 10)))}"

    @property
    def width(self) -> int:
        return self.image.width or 512

    @property
    def height(self) -> int:
        return self.image.height or 512

    @property
    def alt(self) -> str:
        """Its text alternative: the prompt, cut at ALT_LENGTH characters."""
        prompt = self.job.prompt
        return prompt if len(prompt) <= ALT_LENGTH else Truncator(prompt).chars(ALT_LENGTH)

    @property
    def label(self) -> str:
        """ "Image 2", "Clip 3" or "Upscale": which part of its job this is."""
        if self.image.index == ResultImage.GRID:
            return self.job.step_label
        if self.image.is_clip:
            return f"Clip {self.image.index}"
        return f"Image {self.image.index}"


def items_for(images: list[ResultImage], *, user: User | None) -> list[GalleryItem]:
    """Tiles for `images`: the viewer's favourites and the tags in one query each."""
    ids = [image.pk for image in images]
    favourites: set[int] = set()
    if user is not None:
        favourites = set(
            Favourite.objects.filter(user=user, image_id__in=ids).values_list("image_id", flat=True)
        )
    tags: dict[int, list[Tag]] = defaultdict(list)
    for image_tag in ImageTag.objects.filter(image_id__in=ids).select_related("tag"):
        tags[image_tag.image_id].append(image_tag.tag)
    return [
        GalleryItem(
            image,
            favourite=image.pk in favourites,
            tags=sorted(tags[image.pk], key=lambda tag: tag.name.casefold()),
        )
        for image in images
    ]


@dataclass
class GalleryPage:
    items: list[GalleryItem]
    next_cursor: Cursor | None


def gallery_page(
    *,
    project: Project,
    user: User,
    filters: Filters,
    after: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> GalleryPage:
    """One page of the gallery, and where the next one starts (None at the end)."""
    images = gallery_images(project=project, user=user, filters=filters)
    if after is not None:
        images = older_than(images, after)
    rows = first_rows(images.select_related("job__created_by"), size + 1)
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = Cursor.after(rows[-1]) if more and rows else None
    return GalleryPage(items_for(rows, user=user), next_cursor)


def first_rows(images: ResultImageQuerySet, count: int) -> list[ResultImage]:
    """The first `count` of `images`, read off the project's newest-first index.

    On a table PostgreSQL has no statistics for yet (just filled, before autovacuum's
    ANALYZE) it guesses that a project holds a handful of images, and would fetch and
    sort them all rather than read the top of result_project_newest_first: a plan that
    grows with the gallery. Sorting is what a page never needs, so it is ruled out.
    """
    connection = connections[images.db]
    if connection.vendor != "postgresql":
        return list(images[:count])
    with transaction.atomic(using=images.db), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")  # for this transaction only
        return list(images[:count])


def neighbours(
    *, project: Project, user: User, filters: Filters, image: ResultImage
) -> tuple[int | None, int | None]:
    """The ids of the images before (newer) and after (older) `image` in the filtered
    order, for the lightbox's ← and →."""
    images = gallery_images(project=project, user=user, filters=filters)
    here = Cursor.after(image)
    newer = (
        newer_than(images, here).order_by("created_at", "id").values_list("pk", flat=True).first()
    )
    older = older_than(images, here).values_list("pk", flat=True).first()
    return newer, older


def feed_neighbours(*, project: Project, image: ResultImage) -> tuple[int | None, int | None]:
    """The ids of the images before and after `image` in the project's feed: its jobs
    newest first, each job's images in their order (tile 1 to 4), archived ones too (the
    feed shows every job). For the lightbox opened from the feed."""
    images = ResultImage.objects.filter(GALLERY_KINDS, project=project)
    made, job_id, index = image.job.created_at, image.job_id, image.index
    before = (
        Q(job__created_at__gt=made)
        | Q(job__created_at=made, job_id__gt=job_id)
        | Q(job_id=job_id, index__lt=index)
    )
    after = (
        Q(job__created_at__lt=made)
        | Q(job__created_at=made, job_id__lt=job_id)
        | Q(job_id=job_id, index__gt=index)
    )
    newer = (
        images.filter(before)
        .order_by("job__created_at", "job_id", "-index")
        .values_list("pk", flat=True)
        .first()
    )
    older = (
        images.filter(after)
        .order_by("-job__created_at", "-job_id", "index")
        .values_list("pk", flat=True)
        .first()
    )
    return newer, older


@dataclass(frozen=True)
class FilterChoices:
    members: list[tuple[int, str]]
    tags: list[Tag]
    aspects: list[str]


def filter_choices(project: Project) -> FilterChoices:
    """What the filter form offers: the team's members, the project's tags and the aspect
    ratios its jobs used (one query each)."""
    return FilterChoices(
        members=team_members(project),
        tags=list(project_tags(project)),
        aspects=sorted(aspect_ratios_used(project), key=_aspect_sort_key),
    )


def aspect_ratios_used(project: Project) -> list[str]:
    """The aspect ratios the project's jobs used, one probe of the job_project_aspect
    index for each: a skip from one ratio to the next, however many jobs there are (a
    DISTINCT read every job: 0.8–1.1 ms for 2,500, on bench/gallery_first_page.py's data).
    Neither database skips through an index for DISTINCT by itself."""
    connection = connections[Job.objects.db]
    table = connection.ops.quote_name(Job._meta.db_table)
    # The table's own name, quoted; the values are parameters.
    sql = f"""
        WITH RECURSIVE used(ratio) AS (
            SELECT MIN(aspect_ratio) FROM {table} WHERE project_id = %s
            UNION ALL
            SELECT (
                SELECT MIN(aspect_ratio) FROM {table}
                WHERE project_id = %s AND aspect_ratio > used.ratio
            )
            FROM used WHERE used.ratio IS NOT NULL
        )
        SELECT ratio FROM used WHERE ratio IS NOT NULL"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [project.pk, project.pk])
        return [ratio for (ratio,) in cursor.fetchall()]


def project_tags(project: Project) -> list[Tag]:
    return sorted(Tag.objects.filter(project=project), key=lambda tag: tag.name.casefold())


def _aspect_sort_key(ratio: str) -> tuple[float, str]:
    try:
        width, height = (int(part) for part in ratio.split(":"))
        return (width / height, ratio)
    except (ValueError, ZeroDivisionError):
        return (0.0, ratio)


# --- what the lightbox shows beside the image ------------------------------------------

PARAMETER_LABELS = {
    "aspect_ratio": "Aspect ratio",
    "version": "Version",
    "stylize": "Stylize",
    "chaos": "Chaos",
    "quality": "Quality",
    "seed": "Seed",
    "style_raw": "Style raw",
    "weird": "Weird",
    "tile": "Tile",
    "draft": "Draft",
    "no": "Leave out",
    "style_refs": "Style references",
    "style_weight": "Style weight",
    "character_refs": "Character references",
    "character_weight": "Character weight",
    "image_prompts": "Image prompts",
}


def shown_parameters(job: Job) -> list[tuple[str, list[str]]]:
    """The job's panel parameters that were set, as (label, lines); the mode has a row of
    its own."""
    shown = []
    for name, value in (job.prompt_parameters or {}).items():
        if name == "mode" or value in ("", None, False, [], {}):
            continue
        text = "on" if value is True else str(value)
        label = PARAMETER_LABELS.get(name, name.replace("_", " ").capitalize())
        shown.append((label, [line for line in text.splitlines() if line.strip()]))
    return shown


def grid_job_of(image: ResultImage) -> Job | None:
    """The 2×2 grid an image comes from: its own job for a tile, the parent of an upscale."""
    if image.index != ResultImage.GRID:
        return image.job
    return image.job.parent


def seed_of(image: ResultImage) -> str:
    """The seed of the image's grid, if it came with the result, someone asked for it (a
    seed job of that grid) or set it in the prompt; "" if not known."""
    grid = grid_job_of(image)
    if grid is not None and grid.shows_seed_without_asking:
        return grid.seed_value  # it came with the result
    if grid is not None:
        seed_job = (
            Job.objects.filter(parent=grid, operation=Operation.SEED, status=Status.COMPLETED)
            .order_by("-created_at", "-id")
            .first()
        )
        if seed_job is not None and seed_job.seed_value:
            return seed_job.seed_value
    return str((image.job.prompt_parameters or {}).get("seed") or "")


def cost_of(job: Job) -> str:
    """What the job cost (its charge in the ledger), "$0.045 held" while it runs, or ""."""
    entries = {entry.kind: entry.amount for entry in LedgerEntry.objects.filter(job=job)}
    charge: Decimal | None = entries.get(EntryKind.CHARGE)
    if charge is not None:
        return dollars(charge)
    hold = entries.get(EntryKind.HOLD)
    if hold is not None and job.is_active:
        return f"{dollars(hold)} held"
    if EntryKind.RELEASE in entries:
        return dollars(Decimal(0))
    return ""


def image_menu_for(image: ResultImage, actions: list[Action]) -> ImageMenu | None:
    """A grid tile's follow-ups as a menu in groups, when they are more than quick U and V
    buttons (a LegNext tile: upscale, vary, pan, zoom, region, remix…); else None."""
    if image.index == ResultImage.GRID:
        return None
    return image_menu(actions, image.index, image)


def follow_ups_for(image: ResultImage) -> list[Action]:
    """The follow-ups the lightbox offers for an image: those acting on tile N for tile N
    of a grid, everything its job offers for an upscale or the whole grid."""
    actions = image.job.actions
    if image.index == ResultImage.GRID:
        return actions
    return [action for action in actions if action.image == image.index]
