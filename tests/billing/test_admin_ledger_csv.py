import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.billing.admin_helpers import at, money_job
from tests.factories import make_membership, make_project, make_user

HEADER = [
    "created_at",
    "member",
    "project",
    "job_id",
    "operation",
    "mode",
    "kind",
    "amount",
    "provider_points_consumed",
    "reason",
]


@pytest.fixture
def alice_client(client: Client, alice: Any) -> Client:
    client.force_login(alice)
    return client


def export(client: Client, team: Any, query: str = "") -> tuple[Any, list[list[str]]]:
    response = client.get(f"/teams/{team.pk}/ledger.csv{query}")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(text)))


def test_the_export_is_a_streamed_csv_download_named_after_the_team_and_day(
    alice_client: Client, acme: Any
) -> None:
    response, table = export(alice_client, acme)

    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    today = f"{timezone.now():%Y-%m-%d}"
    assert response["Content-Disposition"] == (
        f'attachment; filename="studio-ledger-acme-{today}.csv"'
    )
    assert table == [HEADER]


def test_every_row_has_the_movement_with_exact_amounts(
    alice_client: Client, acme: Any, project: Any, bob: Any
) -> None:
    job = money_job(
        project=project,
        user=bob,
        when=at("2026-03-05", "09:30"),
        operation="upscale",
        amount="0.0451",
        points=450000,
    )

    _, table = export(alice_client, acme)

    charge, hold = table[1], table[2]
    assert charge[:7] == [
        "2026-03-05T09:30:00Z",
        "bob",
        "Launch",
        str(job.pk),
        "upscale",
        "fast",
        "charge",
    ]
    assert Decimal(charge[7]) == Decimal("0.0451") and "e" not in charge[7].lower()
    assert charge[8:] == ["450000", ""]
    assert hold[6:] == ["hold", "0.0451", "", ""]


def test_the_export_applies_the_ledgers_filters(
    alice_client: Client, acme: Any, project: Any, bob: Any, alice: Any
) -> None:
    money_job(project=project, user=bob, when=at("2026-03-01"))
    money_job(project=project, user=alice, when=at("2026-03-02"), mode="turbo", amount="0.10")
    money_job(project=project, user=bob, when=at("2026-03-03"), settle="release")

    _, table = export(alice_client, acme, f"?member={bob.pk}&kind=charge")

    assert [(row[1], row[6]) for row in table[1:]] == [("bob", "charge")]


def test_cells_a_spreadsheet_would_run_as_formulas_are_made_text(
    alice_client: Client, acme: Any
) -> None:
    mallory = make_user(username="@mallory")
    make_membership(team=acme, user=mallory)
    project = make_project(team=acme, name='=HYPERLINK("http://evil.example","x")')
    money_job(project=project, user=mallory, when=at("2026-03-01"), settle="release", reason="+1+2")
    money_job(project=project, user=mallory, when=at("2026-03-02"), settle="release", reason="-3")
    money_job(project=project, user=mallory, when=at("2026-03-03"), settle="release", reason="\tx")

    _, table = export(alice_client, acme, "?kind=release")

    for row in table[1:]:
        assert row[1] == "'@mallory"
        assert row[2].startswith("'=HYPERLINK")
        assert row[9][0] == "'"
    assert [row[9] for row in table[1:]] == ["'\tx", "'-3", "'+1+2"]


def test_only_the_teams_own_ledger_is_exported(
    alice_client: Client, acme: Any, globex: Any, charlie: Any
) -> None:
    theirs = make_project(team=globex, name="Secret")
    money_job(project=theirs, user=charlie, when=at("2026-03-01"))

    _, table = export(alice_client, acme)

    assert table == [HEADER]
