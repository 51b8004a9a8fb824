"""A result's files as they are served and downloaded, the same from the team's pages,
the gallery's ZIP and share links: a clip's video with HTTP Range (so a browser can
seek in it), a cut-out as PNG with its transparency. Access is the caller's business."""

import io
from pathlib import PurePosixPath
from typing import IO

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from PIL import Image

from studio.generation.models import ResultImage
from studio.media.http import ranged_file_response

VIDEO_TYPE = "video/mp4"
# A clip's two videos: the provider's mp4, and the small one cards loop on hover.
VIDEO_VARIANTS = {"full", "preview"}


def video_file(image: ResultImage, variant: str) -> FieldFile:
    """The clip's mp4 (`full`) or its small preview; 404 for a still image."""
    if not image.is_clip or variant not in VIDEO_VARIANTS:
        raise Http404("This result is not a video.")
    if variant == "preview" and image.video_preview:
        return image.video_preview
    return image.video  # a clip stored without a preview plays its own video


def video_response(
    request: HttpRequest, image: ResultImage, variant: str, *, download: bool = False
) -> HttpResponseBase:
    """The clip's video, whole or the byte range asked for; an attachment named
    `<job>-<index>.mp4` when `download`."""
    response = ranged_file_response(request, video_file(image, variant), VIDEO_TYPE)
    if download and response.status_code != 416:
        response["Content-Disposition"] = content_disposition_header(True, image.download_name)
    return response


def full_file(image: ResultImage) -> IO[bytes]:
    """What a download of the result holds, opened: a clip's mp4; a cut-out as PNG (made
    from another format, alpha kept, should the provider have sent one); else the stored
    file as it came."""
    if image.is_clip:
        return image.video.open("rb")
    if image.has_alpha and PurePosixPath(image.file.name or "").suffix.lower() != ".png":
        with image.file.open("rb") as stored, Image.open(stored) as picture:
            buffer = io.BytesIO()
            picture.convert("RGBA").save(buffer, "PNG")
        buffer.seek(0)
        return buffer
    return image.file.open("rb")


def full_response(image: ResultImage, *, download: bool = False) -> FileResponse:
    """The result's full-resolution still (a clip's poster), inline or as an attachment
    named `<job>-<index>.<ext>`; a cut-out always as image/png."""
    try:
        handle = image.file.open("rb") if not image.has_alpha else full_file(image)
    except FileNotFoundError:
        raise Http404("The file is missing.") from None
    if image.has_alpha:
        return FileResponse(
            handle, as_attachment=download, filename=image.download_name, content_type="image/png"
        )
    if download:
        name = f"{image.job_id}-{image.index}{PurePosixPath(image.file.name or '').suffix.lower()}"
        return FileResponse(handle, as_attachment=True, filename=name)
    return FileResponse(handle)
