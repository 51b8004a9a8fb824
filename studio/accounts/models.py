from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from studio.accounts import crypto


class User(AbstractUser):
    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class TeamQuerySet(models.QuerySet["Team"]):
    def for_user(self, user: "User") -> "TeamQuerySet":
        """Teams the user belongs to, in any role."""
        return self.filter(memberships__user=user)


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
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

    def default_provider_key(self) -> "ProviderKey | None":
        return self.provider_keys.filter(is_active=True).order_by("created_at").first()


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
    encrypted_key = models.TextField()
    last4 = models.CharField(max_length=4)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.label} (…{self.last4})"

    def __repr__(self) -> str:
        return f"<ProviderKey {self.pk} …{self.last4}>"

    def set_key(self, raw_key: str) -> None:
        self.encrypted_key = crypto.encrypt(raw_key)
        self.last4 = raw_key[-4:]

    def reveal(self) -> str:
        """The key in clear, for the one module that calls the provider. Never log it."""
        return crypto.decrypt(self.encrypted_key)


class AuthenticatedRequest(HttpRequest):
    """For type checking: a request behind @login_required has a real user."""

    user: User  # type: ignore[assignment]
    htmx: HtmxDetails
