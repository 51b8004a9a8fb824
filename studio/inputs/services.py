"""Taking in input images: validate first, store only what passed, never store twice."""

import hashlib
import io
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from PIL import Image, ImageOps

from studio.accounts.models import User
from studio.inputs.fetch import fetch_image
from studio.inputs.models import InputImage
from studio.inputs.validation import ACCEPTED_FORMATS, read_limited, validate_image
from studio.projects.models import Project

THUMBNAIL_SIDE = 256


def input_image_upload(
    *, project: Project, user: User, uploaded_file: UploadedFile[bytes]
) -> InputImage:
    """Store an uploaded image for the project, or raise `InputImageError` saying why not.

    Nothing is stored when the image is refused. The same bytes uploaded again to the
    same project give back the existing input image.
    """
    data = read_limited(uploaded_file)
    return _input_image_store(
        project=project,
        user=user,
        data=data,
        original_name=uploaded_file.name or "",
        source_url="",
    )


def input_image_from_url(*, project: Project, user: User, url: str) -> InputImage:
    """Fetch the image at a user's link and store it for the project, or raise
    `InputImageError` saying why not (an unsafe or unreachable link, a bad image).

    The link is kept as `source_url`. Nothing is stored when the image is refused; the
    same bytes already in the project give back the existing input image.
    """
    url = url.strip()
    fetched = fetch_image(url)
    return _input_image_store(
        project=project,
        user=user,
        data=fetched.data,
        original_name=_name_from_url(fetched.final_url),
        source_url=url,
    )


def _input_image_store(
    *, project: Project, user: User, data: bytes, original_name: str, source_url: str
) -> InputImage:
    info = validate_image(data, name=original_name)
    sha256 = hashlib.sha256(data).hexdigest()
    existing = InputImage.objects.filter(project=project, sha256=sha256).first()
    if existing is not None:
        return existing

    thumbnail = _thumbnail_bytes(data)
    image = InputImage(
        project=project,
        uploaded_by=user,
        width=info.width,
        height=info.height,
        format=info.format,
        size_bytes=len(data),
        sha256=sha256,
        source_url=source_url,
        original_name=original_name[:255],
    )
    try:
        # Files are named by the token, which is unguessable, in case the storage is
        # ever served directly.
        image.file.save(f"{image.token}.{info.extension}", ContentFile(data), save=False)
        image.thumbnail.save(f"{image.token}.webp", ContentFile(thumbnail), save=False)
        with transaction.atomic():
            image.save()
    except IntegrityError:
        # Someone stored the same bytes in the same project a moment ago: use theirs.
        _delete_files(image)
        return InputImage.objects.get(project=project, sha256=sha256)
    except BaseException:
        _delete_files(image)
        raise
    return image


def _thumbnail_bytes(data: bytes) -> bytes:
    """A small WebP of the first frame for the browser; the original stays untouched."""
    with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
        # JPEGs decode straight at a reduced scale; other formats ignore the draft.
        image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        upright = ImageOps.exif_transpose(image)
        small = upright.convert("RGBA" if has_alpha else "RGB")
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    output = io.BytesIO()
    small.save(output, "WEBP", quality=82)
    return output.getvalue()


def _delete_files(image: InputImage) -> None:
    for field in (image.file, image.thumbnail):
        if field.name:
            field.storage.delete(field.name)


def _name_from_url(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name)[:255]
