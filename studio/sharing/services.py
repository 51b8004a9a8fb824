"""Share links: making and revoking them (audited), and what a link opens to anyone who
holds it. Every public view asks here, so "what does this token show?" has one answer."""

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.http import Http404
from django.utils import timezone

from studio.accounts import audit
from studio.accounts.models import User
from studio.billing.models import EntryKind, LedgerEntry
from studio.generation.models import ResultImage, ResultImageQuerySet
from studio.projects.models import Project
from studio.sharing.models import ShareLink

GALLERY_PAGE_SIZE = 30

# A prompt may carry web addresses (image prompts, --sref, --cref): links to the team's
# reference images, which were never part of what was shared.
WEB_ADDRESS = re.compile(r"https?://\S+", re.IGNORECASE)
REFERENCE_PLACEHOLDER = "[reference image]"


def share_create(
    *,
    project: Project,
    actor: User,
    image: ResultImage | None = None,
    label: str = "",
    expires_at: datetime.datetime | None = None,
    show_costs: bool = False,
) -> ShareLink:
    """A new public link to the project's gallery, or to one of its images; audited
    (scope, expiry and whether costs show, never the token)."""
    with transaction.atomic():
        share = ShareLink.objects.create(
            project=project,
            image=image,
            label=label,
            expires_at=expires_at,
            show_costs=show_costs,
            created_by=actor,
        )
        audit.record(
            team=project.team,
            actor=actor,
            action="share.created",
            target=share_target(share),
            changes={
                "scope": (None, share_scope(share)),
                "expires_at": (None, expires_at or "never"),
                "show_costs": (None, show_costs),
                **({"label": (None, label)} if label else {}),
            },
        )
    return share


def share_revoke(*, share: ShareLink, actor: User) -> bool:
    """Close a link at once; False when it was already revoked (nothing is recorded)."""
    with transaction.atomic():
        now = timezone.now()
        revoked = ShareLink.objects.filter(pk=share.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if revoked:
            share.revoked_at = now
            audit.record(
                team=share.project.team,
                actor=actor,
                action="share.revoked",
                target=share_target(share),
                changes={
                    "scope": (share_scope(share), None),
                    "expires_at": (share.expires_at or "never", None),
                },
            )
    return bool(revoked)


def share_scope(share: ShareLink) -> str:
    return f"image {share.image_id}" if share.image_id else "whole gallery"


def share_target(share: ShareLink) -> str:
    """How the audit log names a link: its project and scope, and its label if any."""
    what = f"image {share.image_id} of {share.project.name}" if share.image_id else None
    target = what or f"the {share.project.name} gallery"
    return f"{target} ({share.label})" if share.label else target


def shareable_images(project: Project) -> ResultImageQuerySet:
    """The project's images a link may show: what its gallery shows (tiles and upscales,
    not archived)."""
    return ResultImage.objects.in_gallery().filter(project=project)


# --- what a link opens ------------------------------------------------------------------


def share_for_token(token: str) -> ShareLink | None:
    """The link with this token, live or not (the caller tells them apart). The lookup is
    on the unique column: no comparison in Python for anyone to time."""
    return ShareLink.objects.select_related("project").filter(token=token).first()


def shared_images(share: ShareLink) -> ResultImageQuerySet:
    """What a link shows, newest first: its one image, or the project's gallery."""
    images = shareable_images(share.project).select_related("job")
    if share.image_id:
        images = images.filter(pk=share.image_id)
    return images.order_by("-created_at", "-id")


def shared_image(share: ShareLink, image_id: int) -> ResultImage:
    """One image the link shows, or 404 (another project's, archived, or not the one image
    of a one-image link)."""
    image = shared_images(share).filter(pk=image_id).first()
    if image is None:
        raise Http404("This link does not show that image.")
    return image


@dataclass(frozen=True)
class Position:
    """Where an image stands in the newest-first order: the keyset of the gallery's pages."""

    created_at: datetime.datetime
    image_id: int

    @classmethod
    def of(cls, image: ResultImage) -> "Position":
        return cls(image.created_at, image.pk)

    def encode(self) -> str:
        micros = (self.created_at - EPOCH) // datetime.timedelta(microseconds=1)
        return f"{micros}.{self.image_id}"

    @classmethod
    def decode(cls, text: str) -> "Position | None":
        micros, _, image_id = text.partition(".")
        if not (micros.isdigit() and image_id.isdigit()) or len(micros) > 20 or len(image_id) > 18:
            return None
        try:
            moment = EPOCH + datetime.timedelta(microseconds=int(micros))
        except OverflowError:
            return None  # a hand-made cursor past the year 9999
        return cls(moment, int(image_id))


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class GalleryPage:
    images: list[ResultImage]
    next_position: Position | None  # where the next page starts; None on the last


def gallery_page(share: ShareLink, *, before: Position | None = None) -> GalleryPage:
    """One page of the link's images, newest first, older than `before` (keyset: a page
    costs the same however deep, and new images never shift what comes next)."""
    images = shared_images(share)
    if before is not None:
        images = images.filter(older_than(before))
    found = list(images[: GALLERY_PAGE_SIZE + 1])
    page = found[:GALLERY_PAGE_SIZE]
    more = len(found) > GALLERY_PAGE_SIZE
    return GalleryPage(page, Position.of(page[-1]) if more and page else None)


def older_than(position: Position) -> Q:
    return Q(created_at__lt=position.created_at) | Q(
        created_at=position.created_at, pk__lt=position.image_id
    )


def newer_than(position: Position) -> Q:
    return Q(created_at__gt=position.created_at) | Q(
        created_at=position.created_at, pk__gt=position.image_id
    )


def neighbours(share: ShareLink, image: ResultImage) -> tuple[int | None, int | None]:
    """The ids of the next newer and next older image of the link (for ← and →)."""
    images = shared_images(share)
    here = Position.of(image)
    newer = images.filter(newer_than(here)).order_by("created_at", "id").first()
    older = images.filter(older_than(here)).first()
    return (newer.pk if newer else None, older.pk if older else None)


def job_costs(job_ids: set[int]) -> dict[int, Decimal]:
    """What each job cost: its charge in the ledger (jobs not charged have none)."""
    rows = LedgerEntry.objects.filter(kind=EntryKind.CHARGE, job_id__in=job_ids).values_list(
        "job_id", "amount"
    )
    return dict(rows)


def shared_total_cost(share: ShareLink) -> Decimal:
    """What the jobs behind the shared images cost together (a grid's four tiles are one
    job, counted once)."""
    job_ids = shared_images(share).values("job_id")
    total = LedgerEntry.objects.filter(kind=EntryKind.CHARGE, job_id__in=job_ids).aggregate(
        total=Sum("amount")
    )["total"]
    return total or Decimal(0)


def public_prompt(prompt: str) -> str:
    """The prompt as a public page shows it: web addresses (the team's reference images)
    replaced by a placeholder."""
    return WEB_ADDRESS.sub(REFERENCE_PLACEHOLDER, prompt).strip()
