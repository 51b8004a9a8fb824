"""The encryption key of secrets at rest (the teams' provider keys, the API callers'
webhook secrets): rotation, and a start-up check that the configured key can read what
is stored."""

from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.db import transaction
from django.db.utils import DatabaseError

from studio.accounts.models import ProviderKey
from studio.api.models import ApiTask


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.STUDIO_ENCRYPTION_KEYS])


@dataclass(frozen=True)
class Reencrypted:
    provider_keys: int
    webhook_secrets: int


def reencrypt_all() -> Reencrypted:
    """Re-encrypt every stored secret (the teams' provider keys, the API callers' webhook
    secrets) with the first key of STUDIO_ENCRYPTION_KEY (the others only need to
    decrypt), all or nothing. Returns how many of each were rewritten."""
    fernet = _fernet()
    with transaction.atomic():
        keys = list(ProviderKey.objects.select_for_update())
        for key in keys:
            key.encrypted_key = fernet.rotate(key.encrypted_key.encode()).decode()
            key.save(update_fields=["encrypted_key"])
        api_tasks = list(
            ApiTask.objects.select_for_update().exclude(webhook_secret="").only("webhook_secret")
        )
        for api_task in api_tasks:
            api_task.webhook_secret = fernet.rotate(api_task.webhook_secret.encode()).decode()
            api_task.save(update_fields=["webhook_secret"])
    return Reencrypted(provider_keys=len(keys), webhook_secrets=len(api_tasks))


@checks.register(checks.Tags.database)
def check_encryption_key(**kwargs: Any) -> list[checks.CheckMessage]:
    """A wrong STUDIO_ENCRYPTION_KEY would leave every stored API key unreadable: refuse
    to start (migrate and Studio's own commands run this check)."""
    try:
        stored = ProviderKey.objects.values_list("encrypted_key", flat=True).first()
    except DatabaseError:
        return []  # no table yet: nothing stored that could be unreadable
    if stored is None:
        return []
    try:
        _fernet().decrypt(stored.encode())
    except InvalidToken:
        return [
            checks.Error(
                "STUDIO_ENCRYPTION_KEY cannot decrypt the provider keys stored in the database.",
                hint="Set it back to the key they were saved with, or list the new key first "
                "and the old one after it (comma-separated), then run "
                "`manage.py rotate_encryption_key`.",
                id="studio.E001",
            )
        ]
    return []
