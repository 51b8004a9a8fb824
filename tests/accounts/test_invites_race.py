"""An invite is single use in the database, not only in the page: two people accepting
the same link at the same moment make one membership between them."""

import threading

import pytest
from django.db import connection
from django.test import Client

from studio.accounts.models import Invite, Membership, Role
from tests.factories import make_team, make_user


@pytest.mark.django_db(transaction=True)
def test_two_accepts_racing_make_one_membership() -> None:
    team = make_team(name="Acme")
    admin = make_user(username="alice")
    Membership.objects.create(team=team, user=admin, role=Role.ADMIN)
    invite = Invite.objects.create(team=team, role=Role.MEMBER, created_by=admin)
    clients = []
    for username in ("erin", "frank"):
        client = Client()
        client.force_login(make_user(username=username))
        clients.append(client)
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def accept(client: Client) -> None:
        try:
            barrier.wait(timeout=10)
            response = client.post(f"/accounts/invites/{invite.token}/")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [302, 410]  # one joined, the other was told it is used
    joined = Membership.objects.filter(team=team).exclude(user=admin)
    assert joined.count() == 1
    invite.refresh_from_db()
    assert invite.accepted_by == joined.get().user
