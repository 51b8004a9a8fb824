import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from studio.gallery.queries import GALLERY_OPERATIONS, Filters, Kind
from studio.generation.search import JobFilterForm

TAG_NAME_MAX = 40
ZIP_LIMIT = 200  # images in one download
BULK_LIMIT = 2000  # images in one bulk change
ASPECT = re.compile(r"\d{1,2}:\d{1,2}")


class GalleryFilterForm(JobFilterForm):
    """The gallery's filters, read from the URL. A value that makes no sense (a shared
    link edited by hand, a tag since deleted) is ignored rather than refused."""

    operation = forms.ChoiceField(
        required=False, choices=[(op.value, op.label) for op in GALLERY_OPERATIONS]
    )
    aspect = forms.RegexField(required=False, regex=ASPECT)
    fav = forms.BooleanField(required=False)
    tag = forms.TypedMultipleChoiceField(required=False, coerce=int)
    archived = forms.BooleanField(required=False)
    kind = forms.ChoiceField(required=False, choices=Kind.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword, so these two fields cannot be declared above.
        self.fields["from"] = forms.DateField(required=False)
        self.fields["to"] = forms.DateField(required=False)
        tag_field = self.fields["tag"]
        assert isinstance(tag_field, forms.TypedMultipleChoiceField)
        tag_field.valid_value = lambda value: str(value).isdigit()  # type: ignore[method-assign]

    def filters(self) -> Filters:
        job_filters = self.job_filters()
        data = self.cleaned_data
        return Filters(
            **job_filters,
            aspect=data.get("aspect") or "",
            date_from=data.get("from"),
            date_to=data.get("to"),
            favourites=bool(data.get("fav")),
            tags=tuple(sorted(set(data.get("tag") or []))),
            archived=bool(data.get("archived")),
            kind=data.get("kind") or Kind.ALL,
        )


def clean_tag_name(value: str) -> str:
    """A tag's name as kept: trimmed, inner runs of spaces made one, 1–40 characters."""
    name = " ".join((value or "").split())
    if not name:
        raise ValidationError("Type a name for the tag.")
    if len(name) > TAG_NAME_MAX:
        raise ValidationError(f"A tag's name has at most {TAG_NAME_MAX} characters.")
    return name


class TagNameField(forms.CharField):
    def clean(self, value: Any) -> str:
        return clean_tag_name(super().clean(value))


class ImageIdsField(forms.Field):
    """Several image ids (`images=3&images=7`), each once, in the order given."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        ids: dict[int, None] = {}
        for item in value or []:
            if not str(item).isdigit():
                raise ValidationError("An image id is a number.")
            ids[int(item)] = None
        return list(ids)


class BulkAction:
    FAVOURITE = "favourite"
    UNFAVOURITE = "unfavourite"
    TAG_ADD = "tag-add"
    TAG_REMOVE = "tag-remove"
    ARCHIVE = "archive"
    RESTORE = "restore"

    CHOICES = [
        (FAVOURITE, "Favourite"),
        (UNFAVOURITE, "Unfavourite"),
        (TAG_ADD, "Add tag"),
        (TAG_REMOVE, "Remove tag"),
        (ARCHIVE, "Archive"),
        (RESTORE, "Restore"),
    ]
    # What viewers may not do.
    CURATING = {TAG_ADD, TAG_REMOVE, ARCHIVE, RESTORE}


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=BulkAction.CHOICES)
    images = ImageIdsField(required=False)
    tag = forms.CharField(required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") in (BulkAction.TAG_ADD, BulkAction.TAG_REMOVE):
            try:
                data["tag"] = clean_tag_name(data.get("tag") or "")
            except ValidationError as error:
                self.add_error("tag", error)
        return data


class DownloadForm(forms.Form):
    images = ImageIdsField(required=False)

    def clean_images(self) -> list[int]:
        ids: list[int] = self.cleaned_data["images"]
        if not ids:
            raise ValidationError("Select at least one image to download.")
        if len(ids) > ZIP_LIMIT:
            raise ValidationError(
                f"A download holds at most {ZIP_LIMIT} images; you selected {len(ids)}. "
                "Select fewer and try again."
            )
        return ids


class ImageTagForm(forms.Form):
    """A tag added to (or taken off) one image, from the lightbox."""

    action = forms.ChoiceField(choices=[("add", "Add"), ("remove", "Remove")])
    name = TagNameField(max_length=200, required=False)  # its own message when empty


class FavouriteForm(forms.Form):
    favourite = forms.TypedChoiceField(
        choices=[("1", "Favourite"), ("0", "Not a favourite")], coerce=lambda value: value == "1"
    )


class ArchiveForm(forms.Form):
    archived = forms.TypedChoiceField(
        choices=[("1", "Archive"), ("0", "Restore")], coerce=lambda value: value == "1"
    )
