"""Provider keys: added encrypted and never shown again (only the label and the last
four characters), rotated, disabled, deleted and put in the order jobs try them."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client

from studio.accounts.models import AuditEntry, ProviderKey
from tests.billing.admin_helpers import hx

SECRET = "pk-live-7f3c2b1a9e8d9a1f"


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


def add_key(client: Client, team: Any, *, label: str = "Production", key: str = SECRET) -> Any:
    return hx(client, f"/accounts/teams/{team.pk}/keys/add/", {"label": label, "key": key})


def key_action(client: Client, provider_key: ProviderKey, action: str, **data: str) -> Any:
    url = f"/accounts/teams/{provider_key.team_id}/keys/{provider_key.pk}/{action}/"
    return hx(client, url, data)


def labels_in_order(team: Any) -> list[str]:
    return list(team.provider_keys.order_by("position", "pk").values_list("label", flat=True))


def test_an_added_key_is_stored_encrypted_and_shows_only_its_last_four(
    alice_client: Client, acme: Any
) -> None:
    response = add_key(alice_client, acme, key=f"  {SECRET}\n")

    assert response.status_code == 200
    html = response.content.decode()
    assert SECRET not in html
    assert "…9a1f" in html and "Production" in html
    key = ProviderKey.objects.get(label="Production")
    assert key.reveal() == SECRET  # stripped
    assert key.last4 == "9a1f"
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_key FROM accounts_providerkey WHERE id = %s", [key.pk])
        (stored,) = cursor.fetchone()
    assert SECRET not in stored and "7f3c2b1a" not in stored
    page = alice_client.get(f"/accounts/teams/{acme.pk}/keys/").content.decode()
    assert SECRET not in page and "…9a1f" in page


def test_a_new_key_goes_after_the_teams_other_keys(alice_client: Client, acme: Any) -> None:
    add_key(alice_client, acme)

    assert labels_in_order(acme) == ["Default", "Production"]
    assert acme.default_provider_key().label == "Default"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Paste the API key from your provider’s dashboard."),
        ("short12", "An API key is 8 to 200 characters long; this one has 7."),
        ("x" * 201, "An API key is 8 to 200 characters long; this one has 201."),
        ("pk-live abcd1234", "An API key has no spaces or line breaks inside"),
        ("pk-live\tabcd1234", "An API key has no spaces or line breaks inside"),
    ],
)
def test_a_key_that_cannot_be_one_is_refused_without_being_echoed(
    alice_client: Client, acme: Any, typed: str, message: str
) -> None:
    response = add_key(alice_client, acme, key=typed)

    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert 'value="Production"' in html  # the label comes back, the key does not
    if typed:
        assert typed not in html
    assert ProviderKey.objects.count() == 1


def test_a_refused_form_without_javascript_does_not_echo_the_key_either(
    alice_client: Client, acme: Any
) -> None:
    response = alice_client.post(
        f"/accounts/teams/{acme.pk}/keys/add/", {"label": "", "key": SECRET}
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "Name the key, e.g. Production." in html
    assert SECRET not in html


def test_rotating_replaces_the_secret_and_keeps_the_label_and_place(
    alice_client: Client, acme: Any
) -> None:
    add_key(alice_client, acme)
    key = ProviderKey.objects.get(label="Production")
    key.last_test_ok, key.last_test_message = True, "Plan creator · 1 credits ≈ $0.00"
    key.save()

    response = key_action(alice_client, key, "rotate", key="pk-live-rotated-b2c3")

    assert response.status_code == 200
    html = response.content.decode()
    assert "pk-live-rotated-b2c3" not in html
    assert "…b2c3" in html
    key.refresh_from_db()
    assert key.reveal() == "pk-live-rotated-b2c3"
    assert (key.label, key.position) == ("Production", 1)
    assert key.rotated_at is not None
    # The old secret's test said nothing about the new one.
    assert key.last_test_ok is None and key.last_test_message == ""


def test_a_refused_rotation_keeps_the_old_secret_and_does_not_echo_the_new_one(
    alice_client: Client, acme: Any
) -> None:
    key = ProviderKey.objects.get(team=acme)

    response = key_action(alice_client, key, "rotate", key="bad key with spaces")

    assert response.status_code == 422
    html = response.content.decode()
    assert "Not rotated." in html and "bad key with spaces" not in html
    key.refresh_from_db()
    assert key.reveal() == "sandbox-test-key"


def test_a_disabled_key_is_skipped_and_can_be_enabled_again(
    alice_client: Client, acme: Any
) -> None:
    add_key(alice_client, acme)
    first = ProviderKey.objects.get(label="Default")

    key_action(alice_client, first, "disable")

    assert acme.default_provider_key().label == "Production"
    assert [key.label for key in acme.active_provider_keys()] == ["Production"]

    key_action(alice_client, first, "enable")

    assert acme.default_provider_key().label == "Default"


def test_deleting_a_key_forgets_it(alice_client: Client, acme: Any) -> None:
    key = ProviderKey.objects.get(team=acme)

    response = key_action(alice_client, key, "delete")

    assert response.status_code == 200
    assert "Deleted <strong>Default …-key</strong>" in response.content.decode()
    assert not ProviderKey.objects.exists()
    assert acme.default_provider_key() is None
    assert "No key yet: jobs cannot run." in response.content.decode()


def test_make_default_moves_a_key_to_the_top(alice_client: Client, acme: Any) -> None:
    add_key(alice_client, acme, label="Second", key="pk-second-0002")
    add_key(alice_client, acme, label="Third", key="pk-third-0003")
    third = ProviderKey.objects.get(label="Third")

    key_action(alice_client, third, "move", direction="first")

    assert labels_in_order(acme) == ["Third", "Default", "Second"]
    assert acme.default_provider_key() == third


def test_keys_move_up_and_down_one_place_at_a_time(alice_client: Client, acme: Any) -> None:
    add_key(alice_client, acme, label="Second", key="pk-second-0002")
    add_key(alice_client, acme, label="Third", key="pk-third-0003")
    first = ProviderKey.objects.get(label="Default")

    key_action(alice_client, first, "move", direction="down")
    assert labels_in_order(acme) == ["Second", "Default", "Third"]

    key_action(alice_client, first, "move", direction="down")
    key_action(alice_client, first, "move", direction="down")  # already last: no change
    assert labels_in_order(acme) == ["Second", "Third", "Default"]

    key_action(alice_client, first, "move", direction="up")
    assert labels_in_order(acme) == ["Second", "Default", "Third"]
    assert AuditEntry.objects.filter(action="key.reordered").count() == 3


def test_active_provider_keys_are_the_active_ones_in_order(alice_client: Client, acme: Any) -> None:
    add_key(alice_client, acme, label="Second", key="pk-second-0002")
    add_key(alice_client, acme, label="Third", key="pk-third-0003")
    key_action(alice_client, ProviderKey.objects.get(label="Third"), "move", direction="first")
    key_action(alice_client, ProviderKey.objects.get(label="Default"), "disable")

    assert [key.label for key in acme.active_provider_keys()] == ["Third", "Second"]
    assert acme.default_provider_key().label == "Third"


def test_the_keys_page_marks_the_default_and_the_fallbacks(alice_client: Client, acme: Any) -> None:
    add_key(alice_client, acme)

    html = alice_client.get(f"/accounts/teams/{acme.pk}/keys/").content.decode()

    assert html.index("Default</span>") < html.index("Fallback</span>")


# --- which provider a key speaks to, and where ----------------------------------------


def test_a_legnext_key_is_stored_with_its_provider_and_its_row_says_so(
    alice_client: Client, acme: Any
) -> None:
    response = hx(
        alice_client,
        f"/accounts/teams/{acme.pk}/keys/add/",
        {"label": "LegNext main", "key": SECRET, "provider": "legnext"},
    )

    assert response.status_code == 200
    key = ProviderKey.objects.get(label="LegNext main")
    assert (key.provider, key.base_url) == ("legnext", "")
    html = alice_client.get(f"/accounts/teams/{acme.pk}/keys/").content.decode()
    row = html[html.index(f'id="key-{key.pk}"') :]
    assert '<span class="chip provider-chip provider-legnext"' in row[: row.index("</li>")]
    assert ">LegNext</span>" in row[: row.index("</li>")]
    default_row = html[html.index(f'id="key-{acme.default_provider_key().pk}"') :]
    assert ">PiAPI</span>" in default_row[: default_row.index("</li>")]


def test_the_add_form_explains_the_providers_and_their_default_urls(
    alice_client: Client, acme: Any
) -> None:
    html = alice_client.get(f"/accounts/teams/{acme.pk}/keys/").content.decode()

    assert 'name="provider" value="piapi" checked' in html
    assert 'name="provider" value="legnext"' in html
    assert "PiAPI, GoAPI and other services" in html
    assert "<code>https://api.piapi.ai</code>" in html
    assert "<code>https://api.legnext.ai/api</code>" in html
    assert "A GoAPI key is a PiAPI-protocol key with GoAPI’s own base URL." in html


def test_a_goapi_key_is_a_piapi_protocol_key_with_its_own_base_url(
    alice_client: Client, acme: Any, alice: Any
) -> None:
    hx(
        alice_client,
        f"/accounts/teams/{acme.pk}/keys/add/",
        {
            "label": "GoAPI",
            "key": SECRET,
            "provider": "piapi",
            "base_url": " https://api.goapi.ai/ ",
        },
    )

    key = ProviderKey.objects.get(label="GoAPI")
    assert (key.provider, key.base_url) == ("piapi", "https://api.goapi.ai")
    assert key.client().base_url == "https://api.goapi.ai"
    entry = AuditEntry.objects.get(action="key.added", target="GoAPI …9a1f")
    assert entry.changes == {
        "label": [None, "GoAPI"],
        "provider": [None, "PiAPI"],
        "base_url": [None, "https://api.goapi.ai"],
    }
    html = alice_client.get(f"/accounts/teams/{acme.pk}/keys/").content.decode()
    assert '<span class="key-url" title="Calls go to this base URL">https://api.goapi.ai' in html


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("http://api.goapi.ai", "The base URL must start with https:// (plain http:// only for"),
        ("ftp://api.goapi.ai", "That is not a URL; it looks like https://api.example.com."),
        ("api.goapi.ai", "That is not a URL; it looks like https://api.example.com."),
        ("https://", "That is not a URL; it looks like https://api.example.com."),
        ("https://me:pw@api.goapi.ai", "Leave the key out of the URL; paste it under API key."),
        ("https://api.goapi.ai/?key=1", "A base URL has no ?query or #fragment"),
        ("https://api.goapi.ai:port", "That is not a URL; it looks like https://api.example.com."),
    ],
)
def test_a_base_url_studio_should_not_call_is_refused_with_a_clear_message(
    alice_client: Client, acme: Any, typed: str, message: str
) -> None:
    response = hx(
        alice_client,
        f"/accounts/teams/{acme.pk}/keys/add/",
        {"label": "GoAPI", "key": SECRET, "provider": "piapi", "base_url": typed},
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert SECRET not in html
    assert 'name="base_url" value=' in html and 'aria-invalid="true"' in html
    assert not ProviderKey.objects.filter(label="GoAPI").exists()


def test_plain_http_is_accepted_for_a_service_on_this_machine(
    alice_client: Client, acme: Any
) -> None:
    hx(
        alice_client,
        f"/accounts/teams/{acme.pk}/keys/add/",
        {
            "label": "Local",
            "key": SECRET,
            "provider": "legnext",
            "base_url": "http://localhost:9000/api",
        },
    )

    assert ProviderKey.objects.get(label="Local").base_url == "http://localhost:9000/api"


def test_an_unknown_provider_is_refused(alice_client: Client, acme: Any) -> None:
    response = hx(
        alice_client,
        f"/accounts/teams/{acme.pk}/keys/add/",
        {"label": "Other", "key": SECRET, "provider": "midjourney"},
    )

    assert response.status_code == 422
    assert "Choose the PiAPI protocol or LegNext." in response.content.decode()
    assert not ProviderKey.objects.filter(label="Other").exists()


def test_rotating_keeps_the_provider_and_the_base_url(alice_client: Client, acme: Any) -> None:
    hx(
        alice_client,
        f"/accounts/teams/{acme.pk}/keys/add/",
        {
            "label": "Edge",
            "key": SECRET,
            "provider": "legnext",
            "base_url": "https://eu.example.com/api",
        },
    )
    key = ProviderKey.objects.get(label="Edge")

    key_action(alice_client, key, "rotate", key="pk-live-rotated-b2c3")

    key.refresh_from_db()
    assert key.reveal() == "pk-live-rotated-b2c3"
    assert (key.provider, key.base_url) == ("legnext", "https://eu.example.com/api")
