from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from studio.accounts.models import Membership, ProviderKey, Team, User
from studio.projects.models import Project


def provision(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("provision", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_provision_creates_what_is_missing_and_says_so() -> None:
    out = provision(
        "--team",
        "Acme",
        "--project",
        "Spring",
        "--user",
        "dana",
        "--password",
        "pw-dana-42",
        "--role",
        "admin",
        "--piapi-key",
        "pk-live-abcd1234",
    )

    assert "Created team 'Acme'" in out and "Created project 'Spring'" in out
    assert "Stored the PiAPI key …1234 (encrypted)" in out
    assert Membership.objects.get(user__username="dana").role == "admin"
    key = ProviderKey.objects.get()
    assert "pk-live-abcd1234" not in key.encrypted_key
    assert key.reveal() == "pk-live-abcd1234"
    assert User.objects.get(username="dana").check_password("pw-dana-42")


@pytest.mark.django_db
def test_provision_twice_changes_nothing_the_second_time() -> None:
    args = (
        "--team",
        "Acme",
        "--project",
        "Spring",
        "--user",
        "dana",
        "--password",
        "pw-dana-42",
        "--piapi-key",
        "pk-live-abcd1234",
    )
    provision(*args)

    out = provision(*args)

    assert "Found team 'Acme'" in out and "already stored" in out
    assert (Team.objects.count(), Project.objects.count(), User.objects.count()) == (1, 1, 1)
    assert ProviderKey.objects.count() == 1


@pytest.mark.django_db
def test_provision_needs_a_password_for_a_new_user() -> None:
    with pytest.raises(CommandError, match="give --password"):
        provision("--team", "Acme", "--user", "erin")


@pytest.mark.django_db
def test_the_demo_prints_a_login_that_works(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path

    out = provision("--demo")
    again = provision("--demo")

    password = (tmp_path / "demo-login.txt").read_text().strip()
    assert f"Password    {password}" in out and f"Password    {password}" in again
    admin = User.objects.get(username="admin")
    assert admin.check_password(password)
    assert Membership.objects.get(user=admin).role == "admin"
    assert Team.objects.get(name="Demo").projects.count() == 1
    # A sandbox key for each provider, PiAPI first, so both can be tried at once.
    demo_keys = Team.objects.get(name="Demo").active_provider_keys()
    assert [key.provider for key in demo_keys] == ["piapi", "legnext"]


@pytest.mark.django_db
def test_provision_stores_a_key_for_each_provider_piapi_first() -> None:
    out = provision("--team", "Acme", "--piapi-key", "pk-aaaa1111", "--legnext-key", "lk-bbbb2222")

    assert "Stored the PiAPI key …1111" in out and "Stored the LegNext key …2222" in out
    keys = list(Team.objects.get().active_provider_keys())
    assert [(key.provider, key.reveal()) for key in keys] == [
        ("piapi", "pk-aaaa1111"),
        ("legnext", "lk-bbbb2222"),
    ]
