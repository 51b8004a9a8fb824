"""The team admin's forms: the team's settings, provider keys, members and invites, the
audit log's filters, and signing up through an invite; and a person's own account.

A provider key is read from the form and never written back into it: its widget never
renders a value, so a refused form shows an empty field, not the key.
"""

import re
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import (
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
    UserCreationForm,
)
from django.core.exceptions import ValidationError

from studio.accounts.audit import ACTION_GROUPS
from studio.accounts.models import (
    AVATAR_TONES,
    INVITE_DAYS_CHOICES,
    INVITE_DEFAULT_DAYS,
    AuditEntry,
    Role,
    Team,
    Theme,
    User,
)
from studio.forms import date_filter_field
from studio.providers import PROVIDERS

KEY_MIN_LENGTH = 8
KEY_MAX_LENGTH = 200
WHITESPACE = re.compile(r"\s")


class TeamSettingsForm(forms.ModelForm[Team]):
    class Meta:
        model = Team
        fields = ["name", "default_mode"]
        error_messages = {
            "name": {"required": "Give the team a name."},
        }

    def clean_name(self) -> str:
        return str(self.cleaned_data["name"]).strip()


# --- provider keys ------------------------------------------------------------------


class SecretKeyField(forms.CharField):
    """The provider's API key: stripped, 8–200 characters, no whitespace inside. Its
    messages never quote what was typed."""

    widget = forms.PasswordInput(render_value=False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            strip=True,
            error_messages={"required": "Paste the API key from your provider’s dashboard."},
            **kwargs,
        )

    def validate(self, value: Any) -> None:
        super().validate(value)
        if WHITESPACE.search(value):
            raise ValidationError(
                "An API key has no spaces or line breaks inside; copy it again.", code="spaces"
            )
        if not KEY_MIN_LENGTH <= len(value) <= KEY_MAX_LENGTH:
            raise ValidationError(
                f"An API key is {KEY_MIN_LENGTH} to {KEY_MAX_LENGTH} characters long; "
                f"this one has {len(value)}.",
                code="length",
            )


# How the add form names each protocol: a GoAPI key speaks PiAPI's protocol.
PROTOCOL_CHOICES = [
    ("piapi", "PiAPI protocol"),
    ("legnext", "LegNext"),
]
PROTOCOL_HINTS = {
    "piapi": "PiAPI, GoAPI and other services speaking PiAPI's task API",
    "legnext": "LegNext's Midjourney API",
}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
BASE_URL_MAX_LENGTH = 300


def checked_base_url(value: str) -> str:
    """A provider's base URL as Studio will call it: https (http only on this machine),
    a host, no key, query or fragment inside; "" for the provider's own."""
    url = value.strip()
    if not url:
        return ""
    if len(url) > BASE_URL_MAX_LENGTH:
        raise ValidationError(
            f"A base URL is at most {BASE_URL_MAX_LENGTH} characters.", code="length"
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise ValidationError("That is not a URL; it looks like https://api.example.com.") from None
    if parts.scheme not in ("http", "https") or not host or WHITESPACE.search(url):
        raise ValidationError("That is not a URL; it looks like https://api.example.com.")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise ValidationError(
            "The base URL must start with https:// (plain http:// only for localhost): "
            "the key travels with every call.",
            code="insecure",
        )
    if parts.username or parts.password:
        raise ValidationError(
            "Leave the key out of the URL; paste it under API key.", code="credentials"
        )
    if parts.query or parts.fragment:
        raise ValidationError(
            "A base URL has no ?query or #fragment; give only the address the API's paths "
            "go after.",
            code="query",
        )
    return url.rstrip("/")


class ProviderKeyForm(forms.Form):
    label = forms.CharField(
        max_length=100,
        error_messages={
            "required": "Name the key, e.g. Production.",
            "max_length": "At most 100 characters.",
        },
    )
    # Absent (an older client, a script): PiAPI, as every key was before LegNext.
    provider = forms.ChoiceField(
        choices=PROTOCOL_CHOICES,
        required=False,
        error_messages={"invalid_choice": "Choose the PiAPI protocol or LegNext."},
    )
    base_url = forms.CharField(required=False, strip=True)
    key = SecretKeyField()

    def clean_label(self) -> str:
        return str(self.cleaned_data["label"]).strip()

    def clean_provider(self) -> str:
        return str(self.cleaned_data.get("provider") or "piapi")

    def clean_base_url(self) -> str:
        return checked_base_url(str(self.cleaned_data.get("base_url") or ""))

    @property
    def chosen_provider(self) -> str:
        """The protocol the form shows picked (what was sent, else PiAPI's)."""
        value = str(self["provider"].value() or "piapi")
        return value if value in PROVIDERS else "piapi"

    @staticmethod
    def protocols() -> list[tuple[str, str, str, str]]:
        """(value, label, hint, default base URL) for each protocol the form offers."""
        return [
            (value, label, PROTOCOL_HINTS[value], PROVIDERS[value].default_base_url)
            for value, label in PROTOCOL_CHOICES
        ]


class RotateKeyForm(forms.Form):
    key = SecretKeyField()


class MoveKeyForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down"), ("first", "First")])


# --- members ------------------------------------------------------------------------


ROLE_ERRORS = {"invalid_choice": "Choose admin, member or viewer."}


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, error_messages=ROLE_ERRORS)


class MemberCreateForm(forms.Form):
    """A new account made by an admin, who passes the password on."""

    username = forms.CharField(
        max_length=150,
        error_messages={"required": "Choose a username."},
        validators=[User.username_validator],
    )
    name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False, error_messages={"invalid": "Enter a valid email."})
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        error_messages={"required": "Choose a password."},
        help_text=password_validation.password_validators_help_text_html(),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER, error_messages=ROLE_ERRORS)

    def clean_username(self) -> str:
        username = str(self.cleaned_data["username"]).strip()
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError("That username is taken.", code="taken")
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            first, _, last = str(cleaned.get("name") or "").strip().partition(" ")
            # The validators compare the password with the account it will belong to.
            user = User(
                username=cleaned.get("username") or "",
                email=cleaned.get("email") or "",
                first_name=first,
                last_name=last.strip(),
            )
            try:
                password_validation.validate_password(password, user)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class InviteForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER, error_messages=ROLE_ERRORS)
    days = forms.TypedChoiceField(
        choices=INVITE_DAYS_CHOICES,
        coerce=int,
        initial=INVITE_DEFAULT_DAYS,
        error_messages={"invalid_choice": "Choose 1, 7 or 30 days."},
    )


class InviteEmailForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "Give the address to send the link to.",
            "invalid": "That is not an email address; it looks like name@example.com.",
            "max_length": "An email address is at most 254 characters.",
        },
    )


class InviteSignUpForm(UserCreationForm[User]):
    """Username and password twice, checked by AUTH_PASSWORD_VALIDATORS."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username",)


# --- one's own account ---------------------------------------------------------------

DISPLAY_NAME_MAX_LENGTH = 60


class ProfileForm(forms.Form):
    """The name others see on cards, lists and the audit log; the avatar's colour; the
    address password resets (and nothing else) are sent to."""

    display_name = forms.CharField(
        max_length=DISPLAY_NAME_MAX_LENGTH,
        error_messages={
            "required": "Give a name others will know you by.",
            "max_length": f"A display name is at most {DISPLAY_NAME_MAX_LENGTH} characters.",
        },
    )
    avatar_tone = forms.TypedChoiceField(
        choices=AVATAR_TONES,
        coerce=int,
        error_messages={"invalid_choice": "Choose one of the colours shown."},
    )
    email = forms.EmailField(
        required=False,
        max_length=254,
        error_messages={"invalid": "That is not an email address; it looks like name@example.com."},
    )

    @classmethod
    def for_user(cls, user: User) -> "ProfileForm":
        return cls(
            initial={
                "display_name": user.display_name,
                "avatar_tone": user.avatar_tone,
                "email": user.email,
            }
        )

    def clean_display_name(self) -> str:
        # Runs of spaces read as one; a name of spaces alone is no name.
        name = " ".join(str(self.cleaned_data["display_name"]).split())
        if not name:
            raise ValidationError("Give a name others will know you by.", code="required")
        return name

    def save(self, user: User) -> None:
        user.set_display_name(self.cleaned_data["display_name"])
        user.avatar_tone = self.cleaned_data["avatar_tone"]
        user.email = self.cleaned_data["email"]
        user.save(update_fields=["first_name", "last_name", "avatar_tone", "email"])


NEW_PASSWORDS_DIFFER = "The two new passwords differ; type the same one twice."


class StudioSetPasswordForm(SetPasswordForm[User]):
    error_messages = {**SetPasswordForm.error_messages, "password_mismatch": NEW_PASSWORDS_DIFFER}


class StudioPasswordChangeForm(PasswordChangeForm):
    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_incorrect": "That is not your current password.",
        "password_mismatch": NEW_PASSWORDS_DIFFER,
    }


class StudioPasswordResetForm(PasswordResetForm):
    """Django's, but the mail goes out from the worker: the answer then takes as long
    for an address no account has as for one that has, and never waits on SMTP."""

    def save(  # type: ignore[override]
        self, *, extra_email_context: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        from studio.accounts.tasks import send_password_reset

        base_url = (extra_email_context or {})["base_url"]
        for user in self.get_users(self.cleaned_data["email"]):
            send_password_reset.enqueue(user.pk, base_url)


class ThemeForm(forms.Form):
    theme = forms.ChoiceField(
        choices=Theme.choices,
        error_messages={"invalid_choice": "Choose system, light or dark."},
    )


# --- the audit log's filters --------------------------------------------------------


class AuditFilterForm(forms.Form):
    """Read from the query string. A filter that does not read shows its error and is
    ignored; the others still apply."""

    actor = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    action = forms.ChoiceField(choices=[("", "Anything"), *ACTION_GROUPS], required=False)
    date_from = date_filter_field()
    date_to = date_filter_field()

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Everyone who ever acted on the team, including people who have since left.
        actors = (
            AuditEntry.objects.filter(team=team, actor__isnull=False)
            .values_list("actor_id", "actor__username", "actor__first_name", "actor__last_name")
            .distinct()
        )
        names = {
            actor_id: f"{first} {last}".strip() or username
            for actor_id, username, first, last in actors
        }
        actor_field = self.fields["actor"]
        assert isinstance(actor_field, forms.TypedChoiceField)
        actor_field.choices = [
            ("", "Anyone"),
            *sorted(names.items(), key=lambda item: item[1].lower()),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date comes before the start date.")
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The filters that read, whatever else did not."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}
