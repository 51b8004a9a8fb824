import datetime
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from django_htmx.middleware import HtmxDetails

from studio.accounts import crypto
from studio.providers import CHOICES as PROVIDER_CHOICES
from studio.providers import Provider, provider_class


class Theme(models.TextChoices):
    SYSTEM = "system", "System"
    LIGHT = "light", "Light"
    DARK = "dark", "Dark"


# The avatar's colours, each dark enough for its white initial to read (4.5:1 or more,
# light and dark theme alike): 0 is Studio's own violet gradient, the default.
AVATAR_TONES = [
    (0, "Violet"),
    (1, "Indigo"),
    (2, "Teal"),
    (3, "Green"),
    (4, "Amber"),
    (5, "Red"),
    (6, "Pink"),
    (7, "Slate"),
]


class User(AbstractUser):
    # The person's choice of look, applied by the server as <html data-theme> (no flash).
    theme = models.CharField(max_length=6, choices=Theme.choices, default=Theme.SYSTEM)
    avatar_tone = models.PositiveSmallIntegerField(choices=AVATAR_TONES, default=0)
    # When a password reset link was last mailed: one mail per PASSWORD_RESET_MAIL_GAP,
    # however often someone asks, so a stranger cannot flood the person's inbox.
    password_reset_mailed_at = models.DateTimeField(null=True, blank=True)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def avatar_class(self) -> str:
        """The class that colours this person's avatar wherever it shows."""
        return f"tone-{self.avatar_tone}"

    def set_display_name(self, name: str) -> None:
        """Store a display name in Django's name fields, which `display_name` joins."""
        first, _, last = " ".join(name.split()).partition(" ")
        self.first_name, self.last_name = first, last


class TeamQuerySet(models.QuerySet["Team"]):
    def for_user(self, user: "User") -> "TeamQuerySet":
        """Teams the user belongs to, in any role."""
        return self.filter(memberships__user=user)


class ProcessMode(models.TextChoices):
    RELAX = "relax", "Relax"
    FAST = "fast", "Fast"
    TURBO = "turbo", "Turbo"


class Team(models.Model):
    name = models.CharField(
        max_length=100, unique=True, error_messages={"unique": "Another team has this name."}
    )
    # The mode the composer starts in; a member may still pick another for a job.
    default_mode = models.CharField(
        max_length=5, choices=ProcessMode.choices, default=ProcessMode.FAST
    )
    # Jobs at the provider at once (its plans allow 3, 10 or 30); more wait in Studio.
    concurrency_limit = models.PositiveSmallIntegerField(default=3)
    # Roles allowed to run Turbo jobs (comma-separated role names).
    turbo_roles = models.CharField(max_length=40, default="admin")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name

    def may_use_turbo(self, role: str) -> bool:
        return role in self.turbo_roles.split(",")

    def active_provider_keys(self) -> "models.QuerySet[ProviderKey]":
        """The keys jobs may use, in the order to try them: the first is the default,
        the next ones take over when a key is refused or out of credits."""
        return self.provider_keys.filter(is_active=True).order_by("position", "pk")

    def default_provider_key(self) -> "ProviderKey | None":
        return self.active_provider_keys().first()


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_generate(self) -> bool:
        return self.role in (Role.ADMIN, Role.MEMBER)


class ProviderKey(models.Model):
    """A team's API key for the provider, encrypted at rest; only its last 4 show."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="provider_keys")
    label = models.CharField(max_length=100, default="Default")
    # The protocol the key speaks (a GoAPI key is a PiAPI-protocol key with its own URL).
    provider = models.CharField(max_length=12, choices=PROVIDER_CHOICES, default="piapi")
    # Blank: the provider's configured base URL (PIAPI_BASE_URL, LEGNEXT_BASE_URL).
    base_url = models.URLField(max_length=300, blank=True)
    encrypted_key = models.TextField()
    last4 = models.CharField(max_length=4)
    is_active = models.BooleanField(default=True)
    # Jobs try the team's active keys in this order (see Team.active_provider_keys).
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    # "Test key" asks the provider for the account's credits in the background: the
    # request time says a test is under way until a result at least as new arrives.
    test_requested_at = models.DateTimeField(null=True, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.label} (…{self.last4})"

    def __repr__(self) -> str:
        return f"<ProviderKey {self.pk} …{self.last4}>"

    @property
    def described(self) -> str:
        """How the key appears anywhere but its form: label and last four characters."""
        return f"{self.label} …{self.last4}"

    @property
    def is_testing(self) -> bool:
        if self.test_requested_at is None:
            return False
        return self.last_tested_at is None or self.last_tested_at < self.test_requested_at

    def forget_test(self) -> None:
        """A new secret has not been tested: clear what the old one's test said."""
        self.test_requested_at = None
        self.last_tested_at = None
        self.last_test_ok = None
        self.last_test_message = ""

    def set_key(self, raw_key: str) -> None:
        self.encrypted_key = crypto.encrypt(raw_key)
        self.last4 = raw_key[-4:]

    def reveal(self) -> str:
        """The key in clear, for the one module that calls the provider. Never log it."""
        return crypto.decrypt(self.encrypted_key)

    @property
    def provider_label(self) -> str:
        return provider_class(self.provider).label

    def client(self) -> Provider:
        """The provider's API, called with this key."""
        return provider_class(self.provider)(api_key=self.reveal(), base_url=self.base_url)


INVITE_DAYS_CHOICES = [(1, "1 day"), (7, "7 days"), (30, "30 days")]
INVITE_DEFAULT_DAYS = 7


def new_invite_token() -> str:
    return secrets.token_urlsafe(32)


def invite_expiry() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=INVITE_DEFAULT_DAYS)


class InviteState(models.TextChoices):
    OPEN = "open", "Open"
    EXPIRED = "expired", "Expired"
    USED = "used", "Used"
    REVOKED = "revoked", "Revoked"


class InviteQuerySet(models.QuerySet["Invite"]):
    def open(self) -> "InviteQuerySet":
        """Invites that can still be accepted: not used, not revoked, not expired."""
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invite(models.Model):
    """A link that lets one person join a team in a given role, once, before it expires."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invites")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token = models.CharField(max_length=64, unique=True, default=new_invite_token)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=invite_expiry)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InviteQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Invite to {self.team} as {self.role}"

    def __repr__(self) -> str:
        # Never the token: it is the key to the team.
        return f"<Invite {self.pk} {self.team_id} {self.role}>"

    @property
    def state(self) -> InviteState:
        if self.revoked_at is not None:
            return InviteState.REVOKED
        if self.accepted_at is not None:
            return InviteState.USED
        if self.expires_at <= timezone.now():
            return InviteState.EXPIRED
        return InviteState.OPEN

    def claim(self, user: User) -> bool:
        """Mark the invite used by `user`, if it is still open. A conditional UPDATE, so
        of two accepts racing exactly one wins; the caller creates the membership only
        when this returns True, in the same transaction."""
        now = timezone.now()
        won = Invite.objects.filter(
            pk=self.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).update(accepted_at=now, accepted_by=user)
        if won:
            self.accepted_at, self.accepted_by = now, user
        return bool(won)


class AuditEntry(models.Model):
    """One admin action on a team: who, what (a dotted name like "key.rotated"), on
    what (a readable target), and the fields it changed as {field: [before, after]}.
    Secrets never go in: a key is its label and last four characters."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The actor's name when it happened: the log still reads after they leave.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["team", "-created_at"], name="audit_team_newest")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor_name or 'Studio'} {self.action} {self.target}"


class AuthenticatedRequest(HttpRequest):
    """For type checking: a request behind @login_required has a real user."""

    user: User  # type: ignore[assignment]
    htmx: HtmxDetails
