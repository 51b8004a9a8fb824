"""Form pieces more than one app uses."""

from django import forms


def date_filter_field() -> forms.DateField:
    """An optional date of a list's filter (from/to), picked with the browser's calendar."""
    return forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date like 2026-01-31."},
    )
