from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from studio.security.encryption import reencrypt_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored provider key and API webhook secret with the first key in "
        "STUDIO_ENCRYPTION_KEY. "
        "Put the new key first and the old one after it, run this, then drop the old one."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if len(settings.STUDIO_ENCRYPTION_KEYS) < 2:
            self.stdout.write(
                "Only one key is configured; with a new key, set "
                "STUDIO_ENCRYPTION_KEY=new,old so that the old secrets can still be read."
            )
        try:
            done = reencrypt_all()
        except Exception as problem:
            raise CommandError(f"Nothing was changed: {problem}") from None
        self.stdout.write(
            f"Re-encrypted {done.provider_keys} provider key(s) and {done.webhook_secrets} "
            "API webhook secret(s) with the first key."
        )
