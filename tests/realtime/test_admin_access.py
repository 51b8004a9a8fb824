"""Support staff change access in Django's admin too: each change there ends the sockets
it concerns, as Studio's own pages do."""

from html.parser import HTMLParser
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client

from studio.accounts.models import Membership, Role, User
from studio.realtime.groups import ACCESS_ENDED, RECONNECT, SESSION_ENDED
from tests.factories import make_membership, make_project
from tests.realtime.sockets import communicator

pytestmark = pytest.mark.django_db(transaction=True)


class FormFields(HTMLParser):
    """What a browser submits from an admin page's form (`<form id="…_form">`): its
    fields as they stand."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.inside = False
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = attributes.get("id", "").endswith("_form")
        if tag == "option" and self.select and "selected" in attributes:
            self.data[self.select].append(attributes.get("value", ""))
        name = attributes.get("name")
        if not self.inside or not name:
            return
        if tag == "input":
            kind = attributes.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            if kind not in ("submit", "button", "file"):
                self.data.setdefault(name, []).append(attributes.get("value", default))
        elif tag == "select":
            self.select = name
            self.data.setdefault(name, [])
        elif tag == "textarea":
            self.textarea = name
            self.data[name] = [""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.data[self.textarea][0] += data


def form_of(page: Any) -> dict[str, list[str]]:
    parser = FormFields()
    parser.feed(page.content.decode())
    return parser.data


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(username="root", password="x-root-pw-1"))
    return client


def closed_by(socket: Any, change: Any) -> int:
    """Open `socket`, make `change` (in a thread, as a request would), and return the code
    the socket is then closed with."""

    async def scenario() -> int:
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_from(timeout=5)  # the resync
        await sync_to_async(change)()
        message = await socket.receive_output(timeout=5)
        await socket.disconnect()
        assert message["type"] == "websocket.close", message
        return int(message["code"])

    return async_to_sync(scenario)()


def test_deactivating_someone_closes_their_sockets(staff: Client, project: Any, bob: Any) -> None:
    def deactivate() -> None:
        url = f"/admin/accounts/user/{bob.pk}/change/"
        data = form_of(staff.get(url))
        del data["is_active"]
        assert staff.post(url, data).status_code == 302

    assert closed_by(communicator(project, user=bob), deactivate) == ACCESS_ENDED
    assert not User.objects.get(pk=bob.pk).is_active


def test_deleting_someone_closes_their_sockets(staff: Client, project: Any, bob: Any) -> None:
    def delete() -> None:
        response = staff.post(f"/admin/accounts/user/{bob.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302

    assert closed_by(communicator(project, user=bob), delete) == ACCESS_ENDED


def test_a_new_password_closes_the_sockets_of_the_old_sessions(
    staff: Client, project: Any, bob: Any
) -> None:
    def new_password() -> None:
        response = staff.post(
            f"/admin/accounts/user/{bob.pk}/password/",
            {
                "password1": "a-fresh-one-83",
                "password2": "a-fresh-one-83",
                "set_usable_password": "true",
            },
        )
        assert response.status_code == 302

    assert closed_by(communicator(project, user=bob), new_password) == SESSION_ENDED


def test_removing_a_member_from_the_team_page_closes_their_sockets(
    staff: Client, project: Any, alice: Any, bob: Any
) -> None:
    def remove() -> None:
        url = f"/admin/accounts/team/{project.team_id}/change/"
        data = form_of(staff.get(url))
        row = next(
            key
            for key, value in data.items()
            if key.endswith("-id") and value == [str(Membership.objects.get(user=bob).pk)]
        )
        data[row.removesuffix("-id") + "-DELETE"] = ["on"]
        assert staff.post(url, data).status_code == 302

    assert closed_by(communicator(project, user=bob), remove) == ACCESS_ENDED
    assert not Membership.objects.filter(user=bob).exists()


def test_changing_a_role_on_the_team_page_reconnects_their_sockets(
    staff: Client, project: Any, alice: Any, bob: Any
) -> None:
    def lower() -> None:
        url = f"/admin/accounts/team/{project.team_id}/change/"
        data = form_of(staff.get(url))
        row = next(
            key
            for key, value in data.items()
            if key.endswith("-id") and value == [str(Membership.objects.get(user=bob).pk)]
        )
        data[row.removesuffix("-id") + "-role"] = [Role.VIEWER]
        assert staff.post(url, data).status_code == 302

    assert closed_by(communicator(project, user=bob), lower) == RECONNECT
    assert Membership.objects.get(user=bob).role == Role.VIEWER


def test_saving_the_team_page_unchanged_leaves_sockets_open(
    staff: Client, project: Any, alice: Any, bob: Any
) -> None:
    socket = communicator(project, user=bob)

    async def scenario() -> bool:
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_from(timeout=5)
        url = f"/admin/accounts/team/{project.team_id}/change/"
        page = await sync_to_async(staff.get)(url)
        response = await sync_to_async(staff.post)(url, form_of(page))
        assert response.status_code == 302
        nothing = await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()
        return nothing

    assert async_to_sync(scenario)()


def test_deleting_a_team_closes_its_members_sockets(
    staff: Client, project: Any, globex: Any, alice: Any, bob: Any
) -> None:
    make_membership(team=globex, user=bob)
    elsewhere = communicator(make_project(team=globex, name="Theirs"), user=bob)

    def delete() -> None:
        response = staff.post(f"/admin/accounts/team/{project.team_id}/delete/", {"post": "yes"})
        assert response.status_code == 302

    assert closed_by(communicator(project, user=alice), delete) == ACCESS_ENDED

    async def still_open() -> bool:
        connected, _ = await elsewhere.connect()
        await elsewhere.receive_from(timeout=5)
        nothing = await elsewhere.receive_nothing(timeout=0.5)
        await elsewhere.disconnect()
        return connected and nothing

    assert async_to_sync(still_open)()  # bob's socket on the other team's project stays
