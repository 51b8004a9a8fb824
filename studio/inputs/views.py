from django.contrib.auth.decorators import login_required
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST, require_safe

from studio.accounts.models import AuthenticatedRequest, User
from studio.inputs import services
from studio.inputs.errors import InputImageError
from studio.inputs.forms import InputImageForm
from studio.inputs.models import InputImage
from studio.projects.access import project_for_user

# The public URL dies (404) once no job needs the image: no cache may keep serving it.
PUBLIC_CACHE = "no-store"
# Studio's own copies for members: the bytes behind an id never change.
PRIVATE_CACHE = "private, max-age=31536000, immutable"
VIEWERS_MAY_NOT_UPLOAD = "Viewers can browse a project but not add images to it."


@require_safe
def public(request: HttpRequest, token: str, name: str) -> FileResponse:
    """The original bytes, for the provider: no login, the token in the URL is the key,
    and only while a job may need them (InputImageQuerySet.publicly_served)."""
    image = get_object_or_404(InputImage.objects.publicly_served(), token=token)
    if name != image.public_filename:
        raise Http404("No such image.")
    response = _file(image.file, content_type=image.content_type, filename=name)
    response["Cache-Control"] = PUBLIC_CACHE
    return response


@require_safe
@login_required
def image(request: AuthenticatedRequest, input_id: int) -> FileResponse:
    """The original, for the project's pages (a describe card shows it)."""
    image = input_for_user(request.user, input_id)
    response = _file(image.file, content_type=image.content_type, filename=image.public_filename)
    response["Cache-Control"] = PRIVATE_CACHE
    return response


@require_safe
@login_required
def thumbnail(request: AuthenticatedRequest, input_id: int) -> FileResponse:
    image = input_for_user(request.user, input_id)
    response = _file(image.thumbnail, content_type="image/webp", filename="thumbnail.webp")
    response["Cache-Control"] = PRIVATE_CACHE
    return response


def input_for_user(user: User, input_id: int) -> InputImage:
    """The input image, if the user is on its project's team; else 404."""
    image = get_object_or_404(InputImage, pk=input_id)
    project_for_user(user, image.project_id)
    return image


@require_POST
@login_required
def upload(request: AuthenticatedRequest, project_id: int) -> JsonResponse:
    project, membership = project_for_user(request.user, project_id)
    if not membership.can_generate:
        return JsonResponse({"error": VIEWERS_MAY_NOT_UPLOAD}, status=403)
    form = InputImageForm(request.POST, request.FILES)
    if not form.is_valid():
        return JsonResponse({"error": form.first_error()}, status=400)
    try:
        if form.cleaned_data["image"]:
            image = services.input_image_upload(
                project=project, user=request.user, uploaded_file=form.cleaned_data["image"]
            )
        else:
            image = services.input_image_from_url(
                project=project, user=request.user, url=form.cleaned_data["url"]
            )
    except InputImageError as error:
        return JsonResponse({"error": error.message}, status=error.status_code)
    return JsonResponse(image.as_json(), status=201)


@require_POST
@login_required
def from_result(request: AuthenticatedRequest, project_id: int, image_id: int) -> JsonResponse:
    """A result of this project as an input image (answered like `upload`), so the
    composer can send it as an image prompt, --sref or --cref: results are Studio's own,
    not public, and the provider fetches only public links."""
    project, membership = project_for_user(request.user, project_id)
    if not membership.can_generate:
        return JsonResponse({"error": VIEWERS_MAY_NOT_UPLOAD}, status=403)
    try:
        image = services.input_image_from_result(
            project=project, user=request.user, result_id=image_id
        )
    except InputImageError as error:
        return JsonResponse({"error": error.message}, status=error.status_code)
    return JsonResponse(image.as_json(), status=201)


def _file(file: FieldFile, *, content_type: str, filename: str) -> FileResponse:
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404("The image's file is missing.") from None
    response = FileResponse(handle, content_type=content_type, filename=filename)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
