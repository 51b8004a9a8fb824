from django import forms
from django.conf import settings

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


class ImagineForm(forms.Form):
    prompt = forms.CharField(
        max_length=settings.PROMPT_MAX_LENGTH,
        strip=True,
        error_messages={
            "required": "Write a prompt first: describe the image you want.",
            "max_length": "The prompt is %(show_value)d characters long; "
            "the limit is %(limit_value)d.",
        },
    )
    aspect_ratio = forms.ChoiceField(
        choices=ASPECT_RATIOS,
        initial="1:1",
        error_messages={"invalid_choice": "Pick one of the listed aspect ratios."},
    )
    process_mode = forms.ChoiceField(
        choices=ProcessMode.choices,
        initial=ProcessMode.FAST,
        error_messages={"invalid_choice": "The mode must be relax, fast or turbo."},
    )

    def clean_prompt(self) -> str:
        prompt: str = self.cleaned_data["prompt"]
        if "\x00" in prompt:
            raise forms.ValidationError("The prompt contains a null character.")
        return prompt
