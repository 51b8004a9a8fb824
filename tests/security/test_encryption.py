from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from studio.accounts.crypto import encrypt
from studio.accounts.models import ProviderKey
from studio.api.models import ApiTask
from studio.api.protocol import webhook_secret
from studio.api.services import token_create
from tests.factories import make_job

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


@pytest.fixture
def stored_with_old_key(settings: Any, acme: Any) -> ProviderKey:
    settings.STUDIO_ENCRYPTION_KEYS = [OLD]
    ProviderKey.objects.all().delete()
    key = ProviderKey(team=acme, label="Production")
    key.set_key("pk-live-abcdef123456")
    key.save()
    return key


@pytest.fixture
def webhook_with_old_key(stored_with_old_key: ProviderKey, project: Any, bob: Any) -> ApiTask:
    """An API task whose caller's webhook secret was stored with the old key."""
    token = token_create(user=bob, project=project, name="render farm").token
    return ApiTask.objects.create(
        job=make_job(project=project, user=bob),
        token=token,
        task_type="imagine",
        webhook_endpoint="https://hooks.example.com/studio",
        webhook_secret=encrypt("whsec-caller-42"),
    )


def test_rotation_re_encrypts_every_key_with_the_new_one(
    stored_with_old_key: ProviderKey, webhook_with_old_key: ApiTask, settings: Any
) -> None:
    settings.STUDIO_ENCRYPTION_KEYS = [NEW, OLD]
    out = StringIO()

    call_command("rotate_encryption_key", stdout=out)

    assert "Re-encrypted 1 provider key(s) and 1 API webhook secret(s)" in out.getvalue()
    settings.STUDIO_ENCRYPTION_KEYS = [NEW]  # the old key can go now
    stored_with_old_key.refresh_from_db()
    assert stored_with_old_key.reveal() == "pk-live-abcdef123456"
    webhook_with_old_key.refresh_from_db()
    assert webhook_secret(webhook_with_old_key) == "whsec-caller-42"


def test_a_wrong_encryption_key_stops_start_up_with_a_clear_error(
    stored_with_old_key: ProviderKey, settings: Any
) -> None:
    settings.STUDIO_ENCRYPTION_KEYS = [NEW]

    with pytest.raises(SystemCheckError, match="cannot decrypt the provider keys"):
        call_command("check", databases=["default"])


def test_the_right_key_passes_the_start_up_check(stored_with_old_key: ProviderKey) -> None:
    call_command("check", databases=["default"], stdout=StringIO())
