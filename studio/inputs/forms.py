from typing import Any

from django import forms


class InputImageForm(forms.Form):
    """An image file or a link to one: exactly one of the two.

    The file is a plain FileField: what makes it an acceptable image is decided by
    `validation.validate_image`, with Studio's own messages.
    """

    image = forms.FileField(required=False, error_messages={"empty": "The file is empty."})
    url = forms.CharField(required=False, max_length=2048, strip=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("image") and cleaned.get("url"):
            raise forms.ValidationError("Send either an image file or a link, not both.")
        if not cleaned.get("image") and not cleaned.get("url"):
            raise forms.ValidationError("Choose an image file or paste a link to one.")
        return cleaned

    def first_error(self) -> str:
        for messages in self.errors.values():
            return str(messages[0])
        return "The image could not be read."
