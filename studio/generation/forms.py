from django import forms

from studio.generation.models import ProcessMode

ASPECT_RATIOS = [
    ("1:1", "1:1 Square"),
    ("4:3", "4:3"),
    ("3:2", "3:2"),
    ("16:9", "16:9 Wide"),
    ("21:9", "21:9 Cinema"),
    ("3:4", "3:4"),
    ("2:3", "2:3 Portrait"),
    ("9:16", "9:16 Tall"),
]
VERSIONS = [("", "Default"), ("7", "7"), ("6.1", "6.1"), ("6", "6"), ("5.2", "5.2")]
QUALITIES = [("", "Default"), (".25", ".25"), (".5", ".5"), ("1", "1"), ("2", "2")]
DIMENSIONS = [("square", "Square"), ("portrait", "Portrait"), ("landscape", "Landscape")]


class ImagineForm(forms.Form):
    """The prompt itself; its parameters (panel fields and inline flags) and its length
    are read by studio.generation.panel, which says what is wrong once, while the member
    types and on Generate alike."""

    prompt = forms.CharField(
        strip=True,
        error_messages={"required": "Write a prompt first: describe the image you want."},
    )

    def clean_prompt(self) -> str:
        prompt: str = self.cleaned_data["prompt"]
        if "\x00" in prompt:
            raise forms.ValidationError("The prompt contains a null character.")
        return prompt


class ModeField(forms.ChoiceField):
    def __init__(self) -> None:
        super().__init__(
            choices=ProcessMode.choices,
            initial=ProcessMode.FAST,
            error_messages={"invalid_choice": "The mode must be relax, fast or turbo."},
        )


class DescribeForm(forms.Form):
    image = forms.FileField(required=False)
    url = forms.URLField(required=False, assume_scheme="https", max_length=2000)
    mode = ModeField()

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if not data.get("image") and not data.get("url") and not self.errors:
            raise forms.ValidationError("Choose an image to describe, or paste its link.")
        return data


class BlendForm(forms.Form):
    dimension = forms.ChoiceField(
        choices=DIMENSIONS,
        initial="square",
        error_messages={"invalid_choice": "The shape must be square, portrait or landscape."},
    )
    mode = ModeField()
