import tempfile
from collections.abc import AsyncIterator
from typing import IO, Any

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url, reswap, retarget

from studio.accounts.models import AuthenticatedRequest, Membership, User
from studio.billing.services import price_table
from studio.gallery import queries, services
from studio.gallery.forms import (
    BULK_LIMIT,
    ZIP_LIMIT,
    ArchiveForm,
    BulkAction,
    BulkForm,
    DownloadForm,
    FavouriteForm,
    GalleryFilterForm,
    ImageTagForm,
)
from studio.gallery.queries import GALLERY_KINDS, Cursor, Filters, GalleryItem
from studio.generation.image_offers import Pricing, result_offers
from studio.generation.menus import OFFERED_AS_WORK
from studio.generation.models import ProcessMode, ResultImage
from studio.projects.access import project_for_user
from studio.projects.models import Project

PAGE = "gallery/gallery.html"
IMAGE_PAGE = "gallery/image.html"
CHUNK = 256 * 1024


def image_for_user(user: User, image_id: int) -> tuple[ResultImage, Project, Membership]:
    """A gallery image (tile or upscale), its project and the user's membership of its
    team, or 404 for outsiders and for anything a gallery does not show."""
    image = get_object_or_404(
        ResultImage.objects.filter(GALLERY_KINDS).select_related(
            "job__created_by", "job__parent", "job__project__team"
        ),
        pk=image_id,
    )
    project, membership = project_for_user(user, image.job.project_id)
    return image, project, membership


def require_curating(membership: Membership) -> None:
    """Members and admins tag and archive; viewers may only look, favourite, download."""
    if not membership.can_generate:
        raise PermissionDenied(
            "Viewers can browse, favourite and download, but not tag or archive."
        )


def notice(request: HttpRequest, message: str, status: int = 200) -> HttpResponse:
    """A short message in the page's notice area."""
    response = render(request, "notice.html", {"message": message}, status=status)
    return reswap(retarget(response, "#notice"), "innerHTML")


def is_partial(request: AuthenticatedRequest) -> bool:
    """An HTMX swap wants a fragment; a history restore (the back button) a whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def page_context(
    request: AuthenticatedRequest, project: Project, membership: Membership, filters: Filters
) -> dict[str, Any]:
    after = Cursor.parse(request.GET.get("after", ""))
    page = queries.gallery_page(project=project, user=request.user, filters=filters, after=after)
    query = filters.query_string()
    more_url = ""
    if page.next_cursor is not None:
        separator = "&" if query else "?"
        more_url = (
            reverse("gallery:project", args=[project.pk])
            + f"{query}{separator}after={page.next_cursor.token}"
        )
    return {
        "project": project,
        "membership": membership,
        "can_curate": membership.can_generate,
        "filters": filters,
        "query": query,
        "items": page.items,
        "more_url": more_url,
        "grid_id": "gallery-grid" if filters.is_empty else "gallery-grid-filtered",
        "first_page": after is None,
        "gallery_url": reverse("gallery:project", args=[project.pk]) + query,
        "partial": is_partial(request),
        "zip_limit": ZIP_LIMIT,
        "operations": [(op.value, op.label) for op in queries.GALLERY_OPERATIONS],
        "modes": ProcessMode.choices,
        "kinds": queries.Kind.choices,
    }


@require_GET
@login_required
@vary_on_headers("HX-Request")
def gallery(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project, membership = project_for_user(request.user, project_id)
    filters = GalleryFilterForm(request.GET).filters()
    context = page_context(request, project, membership, filters)
    if is_partial(request) and not context["first_page"]:
        return render(request, f"{PAGE}#page", context)
    if is_partial(request):
        # The filters' canonical URL (no empty fields), whatever the form sent.
        return push_url(render(request, f"{PAGE}#results", context), context["gallery_url"])
    context["choices"] = queries.filter_choices(project)
    return render(request, PAGE, context)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def image_view(request: AuthenticatedRequest, image_id: int) -> HttpResponse:
    image, project, membership = image_for_user(request.user, image_id)
    filters = GalleryFilterForm(request.GET).filters()
    # Opened from the project's feed: ← and → step through the feed's images, and closing
    # goes back to the feed.
    in_feed = request.GET.get("from") == "feed"
    if in_feed:
        newer, older = queries.feed_neighbours(project=project, image=image)
        query = "?from=feed"
        back_url = reverse("generation:project", args=[project.pk])
    else:
        newer, older = queries.neighbours(
            project=project, user=request.user, filters=filters, image=image
        )
        query = filters.query_string()
        back_url = reverse("gallery:project", args=[project.pk]) + query
    job = image.job
    job.price_table = price_table(project.team_id)  # type: ignore[attr-defined]

    def view_url(pk: int | None) -> str:
        return reverse("gallery:image", args=[pk]) + query if pk else ""

    actions = queries.follow_ups_for(image) if membership.can_generate else []
    # Animate and Edit open their own forms: they show with what else is made from it.
    actions = [action for action in actions if action.needs not in OFFERED_AS_WORK]
    work = (
        result_offers(image, Pricing.of(project, job.price_table))  # type: ignore[attr-defined]
        if membership.can_generate
        else []
    )

    context = {
        "project": project,
        "membership": membership,
        "can_curate": membership.can_generate,
        "item": queries.items_for([image], user=request.user)[0],
        "job": job,
        "query": query,
        "filters": filters,
        "previous_url": view_url(newer),
        "next_url": view_url(older),
        "gallery_url": back_url,
        "in_feed": in_feed,
        "parameters": queries.shown_parameters(job),
        "seed": queries.seed_of(image),
        "cost": queries.cost_of(job),
        "actions": actions,
        "work": work,
        "menu": queries.image_menu_for(image, actions),
        "tag_names": queries.project_tags(project),
        "standalone": not is_partial(request),
    }
    if is_partial(request):
        return render(request, f"{IMAGE_PAGE}#viewer", context)
    return render(request, IMAGE_PAGE, context)


@require_GET
@login_required
@cache_control(private=True, max_age=31_536_000, immutable=True)
def thumbnail(request: AuthenticatedRequest, image_id: int) -> FileResponse:
    """The small thumbnail (480–600 px) a tile shows (the 1024 px one for images stored
    before there was a small one)."""
    image = get_object_or_404(ResultImage.objects.select_related("job"), pk=image_id)
    project_for_user(request.user, image.job.project_id)
    field = image.thumbnail_small or image.thumbnail
    if not field:
        raise Http404("This image has no thumbnail.")
    return FileResponse(field.open("rb"))


@require_POST
@login_required
def favourite(request: AuthenticatedRequest, image_id: int) -> HttpResponse:
    image, _, _ = image_for_user(request.user, image_id)
    form = FavouriteForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Say favourite=1 or favourite=0.")
    services.favourites_set(
        user=request.user, images=[image], favourite=form.cleaned_data["favourite"]
    )
    item = GalleryItem(image, favourite=form.cleaned_data["favourite"])
    return render(request, f"{PAGE}#hearts", {"item": item})


@require_POST
@login_required
def image_tags(request: AuthenticatedRequest, image_id: int) -> HttpResponse:
    image, project, membership = image_for_user(request.user, image_id)
    require_curating(membership)
    form = ImageTagForm(request.POST)
    new_tag = None
    if form.is_valid():
        name = form.cleaned_data["name"]
        if form.cleaned_data["action"] == "add":
            tag, created = services.tag_for_name(project=project, name=name)
            services.tags_add(tag=tag, images=[image], user=request.user)
            new_tag = tag if created else None
        elif tag_or_none := services.tag_named(project=project, name=name):
            services.tags_remove(tag=tag_or_none, images=[image])
    item = queries.items_for([image], user=request.user)[0]
    context = {
        "item": item,
        "items": [item],
        "can_curate": True,
        "form": form,
        "new_tags": [new_tag] if new_tag else [],
    }
    html = render_to_string(f"{IMAGE_PAGE}#viewer-tags", context, request=request)
    html += render_to_string(f"{PAGE}#changed", context, request=request)
    return HttpResponse(html, status=200 if form.is_valid() else 422)


@require_POST
@login_required
def image_archive(request: AuthenticatedRequest, image_id: int) -> HttpResponse:
    image, _, membership = image_for_user(request.user, image_id)
    require_curating(membership)
    form = ArchiveForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Say archived=1 or archived=0.")
    if form.cleaned_data["archived"]:
        services.images_archive(images=[image])
    else:
        services.images_restore(images=[image])
    image.refresh_from_db(fields=["archived_at"])
    context = {"item": GalleryItem(image), "can_curate": True, "removed": [image.pk]}
    html = render_to_string(f"{IMAGE_PAGE}#viewer-archive", context, request=request)
    html += render_to_string(f"{PAGE}#changed", context, request=request)
    return HttpResponse(html)


BULK_DONE = {
    BulkAction.FAVOURITE: "Added {n} to your favourites.",
    BulkAction.UNFAVOURITE: "Took {n} out of your favourites.",
    BulkAction.TAG_ADD: "Tagged {n} “{tag}”.",
    BulkAction.TAG_REMOVE: "Took the tag “{tag}” off {n}.",
    BulkAction.ARCHIVE: "Archived {n}. The Archived filter shows them again.",
    BulkAction.RESTORE: "Restored {n} to the gallery.",
}


@require_POST
@login_required
def bulk(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project, membership = project_for_user(request.user, project_id)
    form = BulkForm(request.POST)
    form.is_valid()
    if "action" in form.errors:
        return HttpResponseBadRequest("Unknown bulk action.")
    action = form.cleaned_data["action"]
    if action in BulkAction.CURATING:
        require_curating(membership)
    if form.errors:
        return notice(
            request, " ".join(str(e) for errors in form.errors.values() for e in errors), 422
        )
    ids = form.cleaned_data["images"]
    if len(ids) > BULK_LIMIT:
        return notice(request, f"Select at most {BULK_LIMIT} images at once.", 422)
    images = list(services.images_of(project=project, ids=ids))
    if not images:
        return notice(request, "Select some images first.", 422)
    tag = None
    new_tags = []
    removed: list[int] = []
    if action in (BulkAction.FAVOURITE, BulkAction.UNFAVOURITE):
        favourite = action == BulkAction.FAVOURITE
        services.favourites_set(user=request.user, images=images, favourite=favourite)
    elif action == BulkAction.TAG_ADD:
        tag, created = services.tag_for_name(project=project, name=form.cleaned_data["tag"])
        services.tags_add(tag=tag, images=images, user=request.user)
        new_tags = [tag] if created else []
    elif action == BulkAction.TAG_REMOVE:
        tag = services.tag_named(project=project, name=form.cleaned_data["tag"])
        if tag is None:
            return notice(request, f"There is no tag “{form.cleaned_data['tag']}”.", 422)
        services.tags_remove(tag=tag, images=images)
    elif action == BulkAction.ARCHIVE:
        services.images_archive(images=images)
        removed = [image.pk for image in images]
    else:
        services.images_restore(images=images)
        removed = [image.pk for image in images]
    count = len(images)
    message = BULK_DONE[action].format(
        n=f"{count} image{'s' if count != 1 else ''}", tag=tag.name if tag else ""
    )
    context = {
        "message": message,
        "items": [] if removed else queries.items_for(images, user=request.user),
        "removed": removed,
        "new_tags": new_tags,
    }
    response = render(request, f"{PAGE}#bulk-done", context)
    return reswap(retarget(response, "#notice"), "innerHTML")


@require_POST
@login_required
def download(request: AuthenticatedRequest, project_id: int) -> HttpResponseBase:
    """A ZIP of the selected images' full-resolution files and a prompts.csv manifest."""
    project, _ = project_for_user(request.user, project_id)
    form = DownloadForm(request.POST)
    if not form.is_valid():
        return refused_download(request, project, str(form.errors["images"][0]))
    images = list(
        services.images_of(project=project, ids=form.cleaned_data["images"])
        .select_related("job__created_by")
        .order_by("-created_at", "-id")
    )
    if not images:
        return refused_download(request, project, "None of the selected images is here.")
    archive = tempfile.TemporaryFile()  # closed (and so deleted) by the response
    services.zip_write(images=images, into=archive)
    filename = f"{slugify(project.name) or 'gallery'}-{len(images)}-images.zip"
    return file_download(request, archive, filename=filename, content_type="application/zip")


def refused_download(request: AuthenticatedRequest, project: Project, message: str) -> HttpResponse:
    if request.htmx:
        return notice(request, message, 400)
    return render(
        request, "gallery/refused.html", {"project": project, "message": message}, status=400
    )


def file_download(
    request: HttpRequest, file: IO[bytes], *, filename: str, content_type: str
) -> HttpResponseBase:
    """Send a temporary file as an attachment, in chunks, then close (and so delete) it.

    Under ASGI (daphne) the chunks come from an async iterator: Django would read a
    synchronous one into memory whole before sending the first byte.
    """
    size = file.tell()
    file.seek(0)
    if not isinstance(request, ASGIRequest):
        return FileResponse(file, as_attachment=True, filename=filename, content_type=content_type)
    response = StreamingHttpResponse(_chunks(file), content_type=content_type)
    response["Content-Length"] = str(size)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


async def _chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    read = sync_to_async(file.read, thread_sensitive=False)
    try:
        while chunk := await read(CHUNK):
            yield chunk
    finally:
        file.close()
