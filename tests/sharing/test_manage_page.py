"""The project's share links page: who may see it, making links, revoking them."""

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from studio.accounts.models import AuditEntry
from studio.sharing.models import ShareLink
from tests.factories import make_project
from tests.sharing.helpers import make_grid, make_share


def manage_url(project: Any) -> str:
    return f"/projects/{project.pk}/shares/"


def create_url(project: Any) -> str:
    return f"/projects/{project.pk}/shares/new/"


def revoke_url(share: ShareLink) -> str:
    return f"/projects/{share.project_id}/shares/{share.pk}/revoke/"


@pytest.mark.parametrize("persona", ["alice", "bob"])
def test_admins_and_members_see_the_links_page(
    client: Client, project: Any, persona: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    make_share(project=project, user=user, label="Client review")
    client.force_login(user)

    response = client.get(manage_url(project))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Client review" in page and "Whole gallery" in page and "Create link" in page


def test_a_viewer_is_refused_the_links_page(client: Client, project: Any, vera: Any) -> None:
    client.force_login(vera)

    assert client.get(manage_url(project)).status_code == 403
    assert (
        client.post(create_url(project), {"scope": "gallery", "expires": "never"}).status_code
        == 403
    )
    assert not ShareLink.objects.exists()


def test_a_viewer_cannot_revoke(client: Client, project: Any, alice: Any, vera: Any) -> None:
    share = make_share(project=project, user=alice)
    client.force_login(vera)

    assert client.post(revoke_url(share)).status_code == 403
    share.refresh_from_db()
    assert share.revoked_at is None


def test_someone_from_another_team_gets_a_404(
    client: Client, project: Any, alice: Any, charlie: Any
) -> None:
    share = make_share(project=project, user=alice)
    client.force_login(charlie)

    assert client.get(manage_url(project)).status_code == 404
    assert (
        client.post(create_url(project), {"scope": "gallery", "expires": "never"}).status_code
        == 404
    )
    assert client.post(revoke_url(share)).status_code == 404
    share.refresh_from_db()
    assert share.revoked_at is None and ShareLink.objects.count() == 1


def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in(client: Client, project: Any) -> None:
    for response in (client.get(manage_url(project)), client.post(create_url(project))):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_a_member_creates_a_gallery_link_that_expires_in_a_week(
    client: Client, project: Any, bob: Any
) -> None:
    client.force_login(bob)

    response = client.post(
        create_url(project),
        {"scope": "gallery", "label": "For the agency", "expires": "7", "show_costs": "on"},
    )

    share = ShareLink.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{manage_url(project)}?new={share.pk}"
    assert share.image is None and share.show_costs and share.label == "For the agency"
    assert share.created_by == bob
    assert share.expires_at is not None
    days = (share.expires_at - timezone.now()).total_seconds() / 86400
    assert 6.99 < days <= 7
    page = client.get(response["Location"]).content.decode()
    assert "Link created" in page and f"/s/{share.token}/" in page


def test_a_link_can_end_on_a_chosen_day(client: Client, project: Any, alice: Any) -> None:
    client.force_login(alice)
    day = timezone.localdate() + timezone.timedelta(days=3)

    client.post(
        create_url(project), {"scope": "gallery", "expires": "date", "expires_on": day.isoformat()}
    )

    share = ShareLink.objects.get()
    assert share.expires_at is not None and share.expires_at.date() == day


def test_a_chosen_day_in_the_past_is_refused(client: Client, project: Any, alice: Any) -> None:
    client.force_login(alice)

    response = client.post(
        create_url(project), {"scope": "gallery", "expires": "date", "expires_on": "2001-01-01"}
    )

    assert response.status_code == 422
    assert "That day has passed" in response.content.decode()
    assert not ShareLink.objects.exists()


def test_a_never_expiring_link_has_no_end(client: Client, project: Any, alice: Any) -> None:
    client.force_login(alice)

    client.post(create_url(project), {"scope": "gallery", "expires": "never"})

    share = ShareLink.objects.get()
    assert share.expires_at is None and not share.show_costs and share.is_live


def test_the_gallery_preselects_one_image_for_a_one_image_link(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    tile = make_grid(project=project, user=bob).images.get(index=2)
    client.force_login(alice)

    page = client.get(f"{manage_url(project)}?image={tile.pk}").content.decode()
    assert "Just this image" in page and f'name="image" value="{tile.pk}"' in page

    client.post(create_url(project), {"scope": "image", "image": tile.pk, "expires": "1"})

    share = ShareLink.objects.get()
    assert share.image == tile


def test_choosing_the_whole_gallery_drops_the_preselected_image(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    tile = make_grid(project=project, user=bob).images.get(index=1)
    client.force_login(alice)

    client.post(create_url(project), {"scope": "gallery", "image": tile.pk, "expires": "never"})

    assert ShareLink.objects.get().image is None


def test_an_image_of_another_project_is_refused(
    client: Client, project: Any, acme: Any, alice: Any, bob: Any
) -> None:
    other = make_project(team=acme, name="Other")
    foreign = make_grid(project=other, user=bob).images.get(index=1)
    client.force_login(alice)

    response = client.post(
        create_url(project), {"scope": "image", "image": foreign.pk, "expires": "never"}
    )

    assert response.status_code == 422
    assert "not in this project’s gallery" in response.content.decode()
    assert not ShareLink.objects.exists()


def test_a_whole_grid_or_archived_image_cannot_be_shared_alone(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    job = make_grid(project=project, user=bob)
    archived = job.images.get(index=3)
    archived.archived_at = timezone.now()
    archived.save()
    client.force_login(alice)

    for image in (job.images.get(index=0), archived):
        response = client.post(
            create_url(project), {"scope": "image", "image": image.pk, "expires": "never"}
        )
        assert response.status_code == 422

    assert not ShareLink.objects.exists()


@pytest.mark.parametrize("persona", ["alice", "bob"])
def test_admins_and_members_revoke_a_link(
    client: Client, project: Any, alice: Any, persona: str, request: pytest.FixtureRequest
) -> None:
    share = make_share(project=project, user=alice)
    client.force_login(request.getfixturevalue(persona))

    response = client.post(revoke_url(share))

    assert response.status_code == 302
    share.refresh_from_db()
    assert share.revoked_at is not None and not share.is_live
    page = client.get(manage_url(project)).content.decode()
    assert "Revoked and expired" in page and "No live links" in page


def test_revoking_with_htmx_answers_the_updated_list(
    client: Client, project: Any, alice: Any
) -> None:
    share = make_share(project=project, user=alice)
    client.force_login(alice)

    response = client.post(revoke_url(share), headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="share-manager"' in html and "status-revoked" in html and "<html" not in html


def test_creating_with_htmx_shows_the_new_link_to_copy(
    client: Client, project: Any, alice: Any
) -> None:
    client.force_login(alice)

    response = client.post(
        create_url(project), {"scope": "gallery", "expires": "30"}, headers={"HX-Request": "true"}
    )

    share = ShareLink.objects.get()
    html = response.content.decode()
    assert response.status_code == 200
    assert "Link created" in html
    assert re.search(rf'data-copy="https?://[^"]+/s/{share.token}/"', html)


def test_a_link_of_another_project_cannot_be_revoked_through_this_one(
    client: Client, project: Any, acme: Any, alice: Any
) -> None:
    other = make_project(team=acme, name="Other")
    share = make_share(project=other, user=alice)
    client.force_login(alice)

    assert client.post(f"/projects/{project.pk}/shares/{share.pk}/revoke/").status_code == 404
    share.refresh_from_db()
    assert share.revoked_at is None


def test_the_audit_log_records_creating_and_revoking_without_the_token(
    client: Client, project: Any, alice: Any, bob: Any
) -> None:
    tile = make_grid(project=project, user=bob).images.get(index=4)
    client.force_login(bob)

    client.post(create_url(project), {"scope": "image", "image": tile.pk, "expires": "7"})
    share = ShareLink.objects.get()
    client.post(revoke_url(share))

    created, revoked = AuditEntry.objects.order_by("pk")
    assert (created.action, revoked.action) == ("share.created", "share.revoked")
    assert created.actor == bob and created.team == project.team
    assert created.changes["scope"] == [None, f"image {tile.pk}"]
    assert created.changes["expires_at"][1].endswith("UTC")
    assert revoked.changes["scope"] == [f"image {tile.pk}", None]
    for entry in (created, revoked):
        assert share.token not in f"{entry.target} {entry.changes}"
    client.force_login(alice)
    audit_page = client.get(reverse("accounts:audit", args=[project.team_id]))
    assert audit_page.status_code == 200 and "share link" in audit_page.content.decode()
    assert share.token not in audit_page.content.decode()


def test_an_image_that_cannot_be_shared_is_not_preselected(
    client: Client, project: Any, acme: Any, alice: Any, bob: Any
) -> None:
    foreign = make_grid(project=make_project(team=acme, name="Other"), user=bob).images.get(index=1)
    client.force_login(alice)

    page = client.get(f"{manage_url(project)}?image={foreign.pk}").content.decode()

    assert "Just this image" not in page
    assert "That image is not in this project’s gallery" in page


def test_revoking_twice_records_it_once(client: Client, project: Any, alice: Any) -> None:
    share = make_share(project=project, user=alice)
    client.force_login(alice)

    client.post(revoke_url(share))
    first = ShareLink.objects.get().revoked_at
    client.post(revoke_url(share))

    assert ShareLink.objects.get().revoked_at == first
    assert AuditEntry.objects.filter(action="share.revoked").count() == 1
