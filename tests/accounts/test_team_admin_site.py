"""Django's admin shows teams, keys, invites and the audit log to support staff, without
the secrets."""

from typing import Any

import pytest
from django.test import Client

from studio.accounts.models import Invite, ProviderKey, User


@pytest.mark.parametrize("model", ["team", "providerkey", "invite", "auditentry", "user"])
def test_support_staff_see_each_list_and_row_without_secrets(
    client: Client, acme: Any, alice: Any, model: str
) -> None:
    invite = Invite.objects.create(team=acme, role="member", created_by=alice)
    key = ProviderKey.objects.get(team=acme)
    client.force_login(User.objects.create_superuser(username="root", password="x-root-pw-1"))
    row = {
        "team": acme.pk,
        "providerkey": key.pk,
        "invite": invite.pk,
        "user": alice.pk,
    }.get(model)

    pages = [client.get(f"/admin/accounts/{model}/")]
    if row:
        pages.append(client.get(f"/admin/accounts/{model}/{row}/change/"))

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert invite.token not in html
        assert key.encrypted_key not in html and "sandbox-test-key" not in html
