"""Share links: the project's page to make and revoke them (its admins and members), and
the public pages and images that anyone holding a live link may open."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from studio.accounts.models import AuthenticatedRequest, Membership, User
from studio.generation import files
from studio.generation.models import ResultImage
from studio.projects.access import project_for_user
from studio.projects.models import Project
from studio.sharing import services
from studio.sharing.forms import ShareLinkForm
from studio.sharing.models import ShareLink

MANAGE_PAGE = "sharing/manage.html"
GALLERY_PAGE = "sharing/public_gallery.html"
IMAGE_PAGE = "sharing/public_image.html"
GONE_PAGE = "sharing/gone.html"
VIEWERS_MAY_NOT_SHARE = "Viewers can browse a project but not share it."
CLOSED_LINKS_SHOWN = 50

IMAGE_SIZES = {"thumb", "small", "full"}
# A shared clip's videos: its own mp4, and the small one tiles play on hover.
VIDEO_SIZES = {"video": "full", "video-preview": "preview"}
CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}


def project_for_sharing(user: User, project_id: int) -> tuple[Project, Membership]:
    """The project, if the user may share it: admins and members; viewers get a 403 and
    outsiders a 404 (from `project_for_user`)."""
    project, membership = project_for_user(user, project_id)
    if not membership.can_generate:
        raise PermissionDenied(VIEWERS_MAY_NOT_SHARE)
    return project, membership


def share_url(request: HttpRequest, share: ShareLink) -> str:
    path = reverse("sharing:public", args=[share.token])
    if settings.STUDIO_PUBLIC_URL:
        return settings.STUDIO_PUBLIC_URL.rstrip("/") + path
    return request.build_absolute_uri(path)


# --- the project's share links -----------------------------------------------------------


@dataclass
class ShareRow:
    share: ShareLink
    url: str
    status: str  # live, revoked, expired
    is_new: bool


def share_rows(
    request: HttpRequest, project: Project, *, new_share_id: int | None
) -> tuple[list[ShareRow], list[ShareRow]]:
    """The project's links: the live ones, and the closed ones (most recent first)."""
    shares = (
        ShareLink.objects.filter(project=project)
        .select_related("created_by", "image")
        .order_by("-created_at", "-id")
    )
    live: list[ShareRow] = []
    closed: list[ShareRow] = []
    for share in shares:
        if share.revoked_at is not None:
            status = "revoked"
        elif not share.is_live:
            status = "expired"
        else:
            status = "live"
        row = ShareRow(share, share_url(request, share), status, share.pk == new_share_id)
        (live if status == "live" else closed).append(row)
    return live, closed[:CLOSED_LINKS_SHOWN]


def picked_image(project: Project, value: str | None) -> ResultImage | None:
    """The image named by `?image=<id>` (the gallery's lightbox links here with it)."""
    if not value or not value.isdigit():
        return None
    return services.shareable_images(project).filter(pk=int(value)).first()


def manage_context(
    request: AuthenticatedRequest,
    project: Project,
    membership: Membership,
    *,
    form: ShareLinkForm | None = None,
    new_share: ShareLink | None = None,
    image: ResultImage | None = None,
) -> dict[str, Any]:
    live, closed = share_rows(request, project, new_share_id=new_share.pk if new_share else None)
    if form is None:
        initial = {"scope": "image" if image else "gallery", "image": image.pk if image else None}
        form = ShareLinkForm(project=project, initial=initial)
    return {
        "project": project,
        "membership": membership,
        "form": form,
        "image": image,
        "image_missing": bool(request.GET.get("image")) and image is None,
        "live_rows": live,
        "closed_rows": closed,
        "new_row": next((row for row in live if row.is_new), None),
    }


@require_GET
@login_required
@vary_on_headers("HX-Request")
def manage(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project, membership = project_for_sharing(request.user, project_id)
    image = picked_image(project, request.GET.get("image"))
    new_id = request.GET.get("new", "")
    new_share = (
        ShareLink.objects.filter(project=project, pk=int(new_id)).first()
        if new_id.isdigit()
        else None
    )
    context = manage_context(request, project, membership, image=image, new_share=new_share)
    return render(request, MANAGE_PAGE, context)


@require_POST
@login_required
def create(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project, membership = project_for_sharing(request.user, project_id)
    form = ShareLinkForm(request.POST, project=project)
    if not form.is_valid():
        image = picked_image(project, request.POST.get("image"))
        context = manage_context(request, project, membership, form=form, image=image)
        template = f"{MANAGE_PAGE}#manager" if request.htmx else MANAGE_PAGE
        return render(request, template, context, status=422)
    image = form.cleaned_data["image"]
    share = services.share_create(
        project=project,
        actor=request.user,
        image=image,
        label=form.cleaned_data["label"],
        expires_at=form.expires_at,
        show_costs=form.cleaned_data["show_costs"],
    )
    if request.htmx:
        context = manage_context(request, project, membership, new_share=share, image=image)
        return render(request, f"{MANAGE_PAGE}#manager", context)
    query = f"?new={share.pk}" + (f"&image={image.pk}" if image else "")
    return redirect(reverse("sharing:manage", args=[project.pk]) + query)


@require_POST
@login_required
def revoke(request: AuthenticatedRequest, project_id: int, share_id: int) -> HttpResponse:
    project, membership = project_for_sharing(request.user, project_id)
    share = get_object_or_404(
        ShareLink.objects.select_related("project__team"), pk=share_id, project=project
    )
    services.share_revoke(share=share, actor=request.user)
    if request.htmx:
        image = picked_image(project, request.GET.get("image"))
        context = manage_context(request, project, membership, image=image)
        return render(request, f"{MANAGE_PAGE}#manager", context)
    return redirect("sharing:manage", project.pk)


class PublicRequest(HttpRequest):
    """For type checking: any visitor, with django-htmx's details."""

    htmx: HtmxDetails


# --- the public pages --------------------------------------------------------------------


def public_headers[Response: HttpResponseBase](response: Response) -> Response:
    """Headers for everything a link serves. The token is in the address, so it must not
    leak to other sites (no referrer), land in a search index, or live on in a cache."""
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def public_page(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return public_headers(view(request, *args, **kwargs))

    return never_cache(wrapper)


def gone(request: HttpRequest, state: str, status: int) -> HttpResponse:
    return render(request, GONE_PAGE, {"state": state}, status=status)


def live_share(request: HttpRequest, token: str) -> ShareLink | HttpResponse:
    """The live link with this token, or the page that says why there is none."""
    share = services.share_for_token(token)
    if share is None:
        return gone(request, "unknown", 404)
    if share.revoked_at is not None:
        return gone(request, "revoked", 410)
    if not share.is_live:
        return gone(request, "expired", 410)
    return share


@require_safe
@public_page
@vary_on_headers("HX-Request")
def public(request: PublicRequest, token: str) -> HttpResponse:
    share = live_share(request, token)
    if isinstance(share, HttpResponse):
        return share
    if share.image_id:
        return image_page(request, share, share.image_id)
    before = services.Position.decode(request.GET.get("before", ""))
    page = services.gallery_page(share, before=before)
    costs = services.job_costs({image.job_id for image in page.images}) if share.show_costs else {}
    context = {
        "share": share,
        "project": share.project,
        "tiles": [public_tile(share, image, costs) for image in page.images],
        "next_page": page.next_position.encode() if page.next_position else "",
        "first_page": before is None,
    }
    if request.htmx:
        return render(request, f"{GALLERY_PAGE}#tiles", context)
    context["image_count"] = services.shared_images(share).count()
    context["total_cost"] = services.shared_total_cost(share) if share.show_costs else None
    return render(request, GALLERY_PAGE, context)


@require_safe
@public_page
def public_image(request: HttpRequest, token: str, image_id: int) -> HttpResponse:
    share = live_share(request, token)
    if isinstance(share, HttpResponse):
        return share
    return image_page(request, share, image_id)


def image_page(request: HttpRequest, share: ShareLink, image_id: int) -> HttpResponse:
    try:
        image = services.shared_image(share, image_id)
    except Http404:
        if share.image_id == image_id:
            # The one image of this link was archived since: the link shows nothing now.
            return gone(request, "removed", 410)
        raise
    job = image.job
    newer, older = (None, None) if share.image_id else services.neighbours(share, image)
    cost = services.job_costs({job.pk}).get(job.pk) if share.show_costs else None
    context = {
        "share": share,
        "project": share.project,
        "image": image,
        "job": job,
        "prompt": services.public_prompt(job.prompt),
        "urls": image_urls(share, image),
        "cost": cost,
        "cost_is_for_grid": job.has_grid and image.index != ResultImage.GRID,
        "newer": image_link(share, newer),
        "older": image_link(share, older),
        "download_name": download_name(share.project, image),
    }
    return render(request, IMAGE_PAGE, context)


def image_link(share: ShareLink, image_id: int | None) -> str:
    return reverse("sharing:public-image", args=[share.token, image_id]) if image_id else ""


@dataclass(frozen=True)
class ImageUrls:
    small: str
    thumb: str
    full: str
    srcset: str  # the three sizes by width, for the browser to pick from
    video: str = ""  # a clip's mp4 ("" for a still)
    video_preview: str = ""  # its small preview, for tiles


@dataclass(frozen=True)
class Tile:
    image: ResultImage
    prompt: str
    page_url: str
    urls: ImageUrls
    cost: Decimal | None


def image_urls(share: ShareLink, image: ResultImage) -> ImageUrls:
    def url(size: str) -> str:
        return reverse("sharing:image", args=[share.token, image.pk, size])

    def width(longest_side: int) -> int:
        longest = max(image.width, image.height)
        if not longest or longest <= longest_side:
            return image.width or longest_side
        return round(image.width * longest_side / longest)

    sizes = [("small", width(480)), ("thumb", width(1024)), ("full", image.width or 2048)]
    if not image.thumbnail_small:
        sizes = sizes[1:]  # stored before small thumbnails existed
    srcset = ", ".join(f"{url(size)} {pixels}w" for size, pixels in sizes)
    if image.is_clip:
        return ImageUrls(
            url("small"), url("thumb"), url("full"), srcset, url("video"), url("video-preview")
        )
    return ImageUrls(url("small"), url("thumb"), url("full"), srcset)


def public_tile(share: ShareLink, image: ResultImage, costs: dict[int, Decimal]) -> Tile:
    return Tile(
        image=image,
        prompt=services.public_prompt(image.job.prompt),
        page_url=reverse("sharing:public-image", args=[share.token, image.pk]),
        urls=image_urls(share, image),
        cost=costs.get(image.job_id) if share.show_costs else None,
    )


def download_name(project: Project, image: ResultImage) -> str:
    return f"{slugify(project.name) or 'image'}-{image.pk}{image.download_extension}"


# --- the images ---------------------------------------------------------------------------


def image_field(image: ResultImage, size: str) -> FieldFile:
    if size == "full":
        return image.file
    if size == "small" and image.thumbnail_small:
        return image.thumbnail_small
    return image.thumbnail


@require_safe
def image_file(request: HttpRequest, token: str, image_id: int, size: str) -> HttpResponseBase:
    """An image of a live link. Browsers may keep it but must ask again each time
    (`no-cache`), so a revoked link stops showing images at once; the ETag makes asking
    cheap (304)."""
    share = services.share_for_token(token)
    if size not in IMAGE_SIZES | VIDEO_SIZES.keys() or share is None or not share.is_live:
        raise Http404("No such image.")
    image = services.shared_image(share, image_id)
    if size in VIDEO_SIZES:
        return shared_video(request, image, VIDEO_SIZES[size])
    field = image_field(image, size)
    # The stored name (it carries the job's id) stays private: the ETag is a digest of it.
    etag = '"{}"'.format(
        hashlib.sha256(f"{image.pk}:{size}:{field.name}".encode()).hexdigest()[:32]
    )
    not_modified = get_conditional_response(
        request, etag=etag, last_modified=int(image.created_at.timestamp())
    )
    if not_modified is not None:
        return image_headers(not_modified, etag, image)
    extension = PurePath(field.name or "").suffix.lower()
    try:
        if size == "full" and image.has_alpha:
            # A cut-out keeps its transparency: PNG, whatever the provider sent.
            handle, extension = files.full_file(image), ".png"
        else:
            handle = field.open("rb")
    except (FileNotFoundError, ValueError) as error:
        raise Http404("The image file is missing.") from error
    response = FileResponse(
        handle,
        content_type=CONTENT_TYPES.get(extension, "application/octet-stream"),
        filename=f"{slugify(share.project.name) or 'image'}-{image.pk}-{size}{extension}",
    )
    return image_headers(response, etag, image)


def shared_video(request: HttpRequest, image: ResultImage, variant: str) -> HttpResponseBase:
    """A shared clip's video, with HTTP Range so it can be sought. Asked for again each
    time like the link's images (`no-cache`), so a revoked link stops playing at once."""
    try:
        response = files.video_response(request, image, variant)
    except (FileNotFoundError, ValueError) as error:
        raise Http404("The video file is missing.") from error
    response["Cache-Control"] = "private, no-cache"
    return public_headers(response)


def image_headers(response: HttpResponseBase, etag: str, image: ResultImage) -> HttpResponseBase:
    response["ETag"] = etag
    response["Last-Modified"] = http_date(image.created_at.timestamp())
    response["Cache-Control"] = "private, no-cache"
    return public_headers(response)
