"""Taking in input images: check everything first, store only what passed, never store
twice, and store nothing for a refused request.

A request that uses input images (describe, blend) checks all of them (`input_image_check*`),
then stores them together with the job they are for, in one transaction
(`input_images_saved`): when the job is refused (over budget, say) the rows are rolled back
and the files written for them are deleted, while images the project already had stay.
"""

import hashlib
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from PIL import Image, ImageOps

from studio.accounts.models import User
from studio.generation.models import ResultImage
from studio.inputs.errors import NotThisProjects
from studio.inputs.fetch import fetch_image
from studio.inputs.models import InputImage
from studio.inputs.validation import ACCEPTED_FORMATS, ImageInfo, read_limited, validate_image
from studio.projects.models import Project

THUMBNAIL_SIDE = 256


@dataclass(frozen=True)
class CheckedImage:
    """An image that passed every check, still in memory: nothing of it is stored."""

    data: bytes
    info: ImageInfo
    sha256: str
    original_name: str
    source_url: str = ""


def input_image_check(*, data: bytes, original_name: str, source_url: str = "") -> CheckedImage:
    """Validate an image's bytes, or raise `InputImageError` saying why not."""
    info = validate_image(data, name=original_name)
    return CheckedImage(
        data=data,
        info=info,
        sha256=hashlib.sha256(data).hexdigest(),
        original_name=original_name[:255],
        source_url=source_url,
    )


def input_image_check_upload(uploaded_file: UploadedFile[bytes]) -> CheckedImage:
    """Read and validate an uploaded image, or raise `InputImageError` saying why not."""
    return input_image_check(
        data=read_limited(uploaded_file), original_name=uploaded_file.name or ""
    )


def input_image_check_url(url: str) -> CheckedImage:
    """Fetch the image at a user's link and validate it, or raise `InputImageError` saying
    why not (an unsafe or unreachable link, a bad image). The link is kept as `source_url`."""
    url = url.strip()
    fetched = fetch_image(url)
    return input_image_check(
        data=fetched.data, original_name=_name_from_url(fetched.final_url), source_url=url
    )


def input_image_check_result(result: ResultImage) -> CheckedImage:
    """A result of Studio's own, checked as an input image (blend takes results; a
    result used as a reference is copied into the project's inputs, since the provider
    may fetch only public links and results are not public)."""
    with result.file.open("rb") as stored:
        data = stored.read()
    return input_image_check(
        data=data, original_name=PurePosixPath(result.file.name or "result.png").name
    )


@contextmanager
def input_images_saved(
    *, project: Project, user: User, images: Sequence[CheckedImage]
) -> Iterator[list[InputImage]]:
    """Store checked images for the project, in order, and give them to the block, all in
    one transaction with what the block does (create the job that uses them).

    Bytes the project already has give back its existing input image. If the block (or
    storing) raises, the transaction is rolled back and every file this call wrote is
    deleted; images the project had before are never touched. Run it outside other
    transactions: a rollback of an enclosing one would leave the new files behind.
    """
    written: list[InputImage] = []
    try:
        with transaction.atomic():
            yield [
                _input_image_store(project=project, user=user, checked=checked, written=written)
                for checked in images
            ]
    except BaseException:
        for image in written:
            _delete_files(image)
        raise


def input_image_upload(
    *, project: Project, user: User, uploaded_file: UploadedFile[bytes]
) -> InputImage:
    """Store an uploaded image for the project, or raise `InputImageError` saying why not.

    Nothing is stored when the image is refused. The same bytes uploaded again to the
    same project give back the existing input image.
    """
    checked = input_image_check_upload(uploaded_file)
    with input_images_saved(project=project, user=user, images=[checked]) as (image,):
        return image


def input_image_from_url(*, project: Project, user: User, url: str) -> InputImage:
    """Fetch the image at a user's link and store it for the project, or raise
    `InputImageError` saying why not (an unsafe or unreachable link, a bad image).

    The link is kept as `source_url`. Nothing is stored when the image is refused; the
    same bytes already in the project give back the existing input image.
    """
    checked = input_image_check_url(url)
    with input_images_saved(project=project, user=user, images=[checked]) as (image,):
        return image


NOT_THIS_PROJECTS_RESULT = "That image is not a result of this project; only its own can be used."


def input_image_from_result(*, project: Project, user: User, result_id: int) -> InputImage:
    """Store a result of the project as one of its input images, so that the provider
    can fetch it at its public URL (an image prompt, --sref or --cref made from a Studio
    result: results are not public), or raise `InputImageError` (`NotThisProjects` for
    another project's result). The same result used twice gives back the same input
    image."""
    result = ResultImage.objects.filter(pk=result_id, job__project=project).first()
    if result is None:
        raise NotThisProjects(NOT_THIS_PROJECTS_RESULT)
    checked = input_image_check_result(result)
    with input_images_saved(project=project, user=user, images=[checked]) as (image,):
        return image


def _input_image_store(
    *, project: Project, user: User, checked: CheckedImage, written: list[InputImage]
) -> InputImage:
    """The project's input image with these bytes, stored now if it had none; a new one is
    added to `written` as soon as it has files."""
    existing = InputImage.objects.filter(project=project, sha256=checked.sha256).first()
    if existing is not None:
        return existing

    thumbnail = _thumbnail_bytes(checked.data)
    info = checked.info
    image = InputImage(
        project=project,
        uploaded_by=user,
        width=info.width,
        height=info.height,
        format=info.format,
        size_bytes=len(checked.data),
        sha256=checked.sha256,
        source_url=checked.source_url,
        original_name=checked.original_name,
    )
    written.append(image)
    # Files are named by the token, which is unguessable, in case the storage is ever
    # served directly.
    image.file.save(f"{image.token}.{info.extension}", ContentFile(checked.data), save=False)
    image.thumbnail.save(f"{image.token}.webp", ContentFile(thumbnail), save=False)
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:
        # Someone stored the same bytes in the same project a moment ago: use theirs.
        written.remove(image)
        _delete_files(image)
        return InputImage.objects.get(project=project, sha256=checked.sha256)
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
