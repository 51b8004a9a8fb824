import datetime
from typing import Any

from django import forms
from django.utils import timezone

from studio.generation.models import ResultImage
from studio.projects.models import Project
from studio.sharing.services import shareable_images

EXPIRY_CHOICES = [
    ("never", "Never"),
    ("1", "1 day"),
    ("7", "7 days"),
    ("30", "30 days"),
    ("date", "Date"),
]
SCOPE_CHOICES = [("gallery", "Whole gallery"), ("image", "Just this image")]
LONGEST_EXPIRY = datetime.timedelta(days=366)


class ShareLinkForm(forms.Form):
    scope = forms.ChoiceField(choices=SCOPE_CHOICES, initial="gallery")
    image = forms.IntegerField(required=False, widget=forms.HiddenInput)
    label = forms.CharField(max_length=100, required=False, strip=True)
    expires = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="never")
    expires_on = forms.DateField(required=False)
    show_costs = forms.BooleanField(required=False)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_image(self) -> ResultImage | None:
        image_id = self.cleaned_data.get("image")
        if image_id is None:
            return None
        # Scoped to the project's gallery: another project's image is refused like a
        # missing one, so the form says nothing about it.
        image = shareable_images(self.project).filter(pk=image_id).first()
        if image is None:
            raise forms.ValidationError(
                "That image is not in this project’s gallery, so it cannot be shared from here."
            )
        return image

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == "image" and not data.get("image") and "image" not in self.errors:
            self.add_error("scope", "Pick the image to share from the gallery first.")
        if data.get("scope") == "gallery":
            data["image"] = None
        if data.get("expires") == "date":
            day = data.get("expires_on")
            if day is None:
                self.add_error("expires_on", "Pick the last day the link works.")
            elif day < timezone.localdate():
                self.add_error("expires_on", "That day has passed; pick today or a later day.")
            elif day > timezone.localdate() + LONGEST_EXPIRY:
                self.add_error("expires_on", "Pick a day within a year, or choose “Never”.")
        return data

    @property
    def expires_at(self) -> datetime.datetime | None:
        """When the link stops working: never, after N days, or at the end of the day."""
        choice = self.cleaned_data["expires"]
        if choice == "never":
            return None
        if choice == "date":
            day = self.cleaned_data["expires_on"]
            end_of_day = datetime.datetime.combine(day, datetime.time.max)
            return timezone.make_aware(end_of_day)
        return timezone.now() + datetime.timedelta(days=int(choice))
