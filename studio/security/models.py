from django.db import models


class LoginFailure(models.Model):
    """A failed login, kept for a while to slow down password guessing."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"failed login for {self.username!r} from {self.ip_address}"
