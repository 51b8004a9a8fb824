""" "Test key": the request only asks; a background task calls the provider with the key
and stores what it said on the key, while the row polls until the answer is in."""

import datetime
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from studio.accounts.models import AuditEntry, ProviderKey
from studio.accounts.tasks import check_provider_key
from studio.providers.piapi import AccountInfo, PiAPI, ProviderError
from tests.billing.admin_helpers import hx

CREATOR = AccountInfo(
    available_credits=9_300_000, used_credits=700_000, equivalent_in_usd=9.3, plan="creator"
)


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def key(acme: Any) -> ProviderKey:
    return ProviderKey.objects.get(team=acme)


def ask_for_a_test(client: Client, key: ProviderKey, capture: Any) -> Any:
    with capture(execute=True):
        return hx(client, f"/accounts/teams/{key.team_id}/keys/{key.pk}/test/")


def row(client: Client, key: ProviderKey) -> str:
    """The key's row, as the page's polling asks for it."""
    url = f"/accounts/teams/{key.team_id}/keys/{key.pk}/"
    return client.get(url, headers={"HX-Request": "true"}).content.decode()


def test_asking_for_a_test_queues_it_and_the_row_polls_until_it_is_done(
    alice_client: Client, key: ProviderKey, django_capture_on_commit_callbacks: Any
) -> None:
    with mock.patch.object(PiAPI, "account_info", autospec=True) as account_info:
        response = ask_for_a_test(alice_client, key, django_capture_on_commit_callbacks)

    # The request never waits on the provider.
    account_info.assert_not_called()
    assert response.status_code == 200
    html = response.content.decode()
    assert "Testing…" in html
    assert f'hx-get="/accounts/teams/{key.team_id}/keys/{key.pk}/" hx-trigger="every 1s"' in html
    task = DBTaskResult.objects.get(task_path__endswith="check_provider_key")
    assert "sandbox-test-key" not in str(task.args_kwargs)
    assert "every 1s" in row(alice_client, key)


def test_a_key_the_provider_accepts_shows_its_plan_and_credits(
    alice_client: Client, alice: Any, key: ProviderKey, django_capture_on_commit_callbacks: Any
) -> None:
    ask_for_a_test(alice_client, key, django_capture_on_commit_callbacks)

    with mock.patch.object(
        PiAPI, "account_info", autospec=True, return_value=CREATOR
    ) as account_info:
        check_provider_key.call(key.pk, alice.pk)

    (client,) = account_info.call_args.args
    assert client.api_key == "sandbox-test-key"
    key.refresh_from_db()
    assert key.last_test_ok is True
    assert key.last_test_message == "Plan creator · 9,300,000 credits ≈ $9.30"
    assert not key.is_testing
    html = row(alice_client, key)
    assert "Plan creator · 9,300,000 credits ≈ $9.30" in html
    assert "every 1s" not in html  # done: the row stops polling
    entry = AuditEntry.objects.get(action="key.tested")
    assert (entry.actor, entry.target) == (alice, "Default …-key")
    assert entry.changes == {"result": [None, "Plan creator · 9,300,000 credits ≈ $9.30"]}


def test_a_key_the_provider_refuses_shows_the_refusal(
    alice_client: Client, alice: Any, key: ProviderKey, django_capture_on_commit_callbacks: Any
) -> None:
    ask_for_a_test(alice_client, key, django_capture_on_commit_callbacks)
    refusal = ProviderError("The provider rejected the API key (invalid api key).", status_code=401)

    with mock.patch.object(PiAPI, "account_info", autospec=True, side_effect=refusal):
        check_provider_key.call(key.pk, alice.pk)

    key.refresh_from_db()
    assert key.last_test_ok is False
    assert key.last_test_message == "The provider rejected the API key (invalid api key)."
    html = row(alice_client, key)
    assert "The provider rejected the API key (invalid api key)." in html
    assert "every 1s" not in html


def test_a_refusal_that_quotes_the_key_is_stored_without_it(alice: Any, key: ProviderKey) -> None:
    refusal = ProviderError("key sandbox-test-key is unknown", status_code=401)

    with mock.patch.object(PiAPI, "account_info", autospec=True, side_effect=refusal):
        check_provider_key.call(key.pk, alice.pk)

    key.refresh_from_db()
    assert key.last_test_message == "key …-key is unknown"
    assert "sandbox-test-key" not in str(AuditEntry.objects.values_list("target", "changes"))


def test_a_result_for_a_secret_rotated_meanwhile_is_dropped(
    alice_client: Client, alice: Any, key: ProviderKey
) -> None:
    def rotate_while_asking(client: PiAPI) -> AccountInfo:
        hx(
            alice_client,
            f"/accounts/teams/{key.team_id}/keys/{key.pk}/rotate/",
            {"key": "pk-live-new-secret-0000"},
        )
        return CREATOR

    with mock.patch.object(PiAPI, "account_info", autospec=True, side_effect=rotate_while_asking):
        check_provider_key.call(key.pk, alice.pk)

    key.refresh_from_db()
    assert key.last_test_ok is None and key.last_tested_at is None


def test_a_test_nobody_answers_stops_polling_after_a_while(
    alice_client: Client, key: ProviderKey
) -> None:
    key.test_requested_at = timezone.now() - datetime.timedelta(minutes=5)
    key.save()

    html = row(alice_client, key)

    assert "No answer yet: is the worker running?" in html
    assert "every 1s" not in html


def test_a_key_deleted_before_its_test_ran_is_left_alone(alice: Any, key: ProviderKey) -> None:
    key_id = key.pk
    key.delete()

    with mock.patch.object(PiAPI, "account_info", autospec=True) as account_info:
        check_provider_key.call(key_id, alice.pk)

    account_info.assert_not_called()


def test_the_rows_address_opened_in_a_browser_shows_the_keys_page(
    alice_client: Client, key: ProviderKey
) -> None:
    response = alice_client.get(f"/accounts/teams/{key.team_id}/keys/{key.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/teams/{key.team_id}/keys/"


def test_a_legnext_key_shows_its_balance_in_dollars_and_credits(
    live_server: Any, acme: Any, alice: Any
) -> None:
    from tests.factories import make_key

    key = make_key(team=acme, provider="legnext", api_key="sandbox-legnext-key")
    # Its own base URL (here the sandbox's LegNext API), as a key for any host may have.
    ProviderKey.objects.filter(pk=key.pk).update(base_url=f"{live_server.url}/sandbox/legnext/api")

    check_provider_key.call(key.pk, alice.pk)

    key.refresh_from_db()
    assert key.last_test_ok is True
    assert key.last_test_message == "$100.00 · 100,000 credits"


def test_a_legnext_key_it_refuses_says_so(live_server: Any, acme: Any, alice: Any) -> None:
    from tests.factories import make_key

    key = make_key(team=acme, provider="legnext", api_key="invalid-legnext-key")
    ProviderKey.objects.filter(pk=key.pk).update(base_url=f"{live_server.url}/sandbox/legnext/api")

    check_provider_key.call(key.pk, alice.pk)

    key.refresh_from_db()
    assert key.last_test_ok is False
    assert "LegNext rejected the API key" in key.last_test_message
