"""`manage.py create_token`: a token for a script, printed alone on the last line, and a
clear refusal for anything that cannot have one."""

import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from studio.accounts.models import Team
from studio.api.models import ApiToken
from studio.api.services import token_authenticate
from tests.factories import make_project


def create_token(*args: str) -> list[str]:
    out = StringIO()
    call_command("create_token", *args, stdout=out)
    return out.getvalue().splitlines()


def authenticated(secret: str) -> ApiToken:
    token, _membership = token_authenticate(secret=secret, address=None)
    return token


def test_it_prints_a_token_that_works_alone_on_its_last_line(project: Any, bob: Any) -> None:
    *sentences, secret = create_token("--user", "bob", "--project", "Launch", "--name", "n8n")

    token = authenticated(secret)
    assert (token.user, token.project, token.name) == (bob, project, "n8n")
    assert token.expires_at is None
    assert "n8n" in sentences[0] and "not shown again" in sentences[0]
    assert secret not in "\n".join(sentences)


def test_a_project_can_be_given_by_id(project: Any, bob: Any) -> None:
    secret = create_token("--user", "bob", "--project", str(project.pk), "--name", "ci")[-1]

    assert authenticated(secret).project == project


def test_a_project_name_several_teams_use_needs_the_team(
    project: Any, bob: Any, globex: Team
) -> None:
    make_project(team=globex, name="Launch")

    with pytest.raises(CommandError, match=r"Several teams .*\(Acme, Globex\).*--team"):
        create_token("--user", "bob", "--project", "Launch", "--name", "ci")
    by_name = create_token(
        "--user", "bob", "--project", "Launch", "--team", "Acme", "--name", "ci"
    )[-1]
    by_id = create_token(
        "--user", "bob", "--project", "Launch", "--team", str(project.team_id), "--name", "cd"
    )[-1]

    assert authenticated(by_name).project == authenticated(by_id).project == project


def test_the_token_expires_after_the_day_given(project: Any, bob: Any) -> None:
    secret = create_token(
        "--user", "bob", "--project", "Launch", "--name", "trial", "--expires", "2999-01-31"
    )[-1]

    assert authenticated(secret).expires_at == datetime.datetime(2999, 2, 1, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody"], "No user is named “nobody”"),
        (["--project", "Moonshot"], "No project is named “Moonshot”"),
        (["--team", "Initech"], "No team is named “Initech”"),
        (["--team", "Globex"], "No project in Globex is named “Launch”"),
        (["--expires", "31/01/2999"], "YYYY-MM-DD"),
        (["--expires", "2001-01-01"], "The expiry date has passed"),
        (["--name", " "], "Give the token a name"),
    ],
)
def test_what_cannot_be_found_or_used_is_refused_clearly(
    project: Any, bob: Any, globex: Team, args: list[str], message: str
) -> None:
    options = {"--user": "bob", "--project": "Launch", "--name": "ci"}
    options.update(zip(args[::2], args[1::2], strict=True))

    with pytest.raises(CommandError, match=message):
        create_token(*(part for pair in options.items() for part in pair))
    assert not ApiToken.objects.exists()


def test_a_viewer_gets_no_token(project: Any, vera: Any) -> None:
    with pytest.raises(CommandError, match="Viewers cannot create API tokens"):
        create_token("--user", "vera", "--project", "Launch", "--name", "ci")
    assert not ApiToken.objects.exists()


def test_someone_outside_the_team_gets_no_token(project: Any, charlie: Any) -> None:
    with pytest.raises(CommandError, match="charlie is not a member of Acme"):
        create_token("--user", "charlie", "--project", "Launch", "--name", "ci")
    assert not ApiToken.objects.exists()


def test_a_deactivated_user_gets_no_token(project: Any, bob: Any) -> None:
    bob.is_active = False
    bob.save(update_fields=["is_active"])

    with pytest.raises(CommandError, match="bob is deactivated"):
        create_token("--user", "bob", "--project", "Launch", "--name", "ci")
