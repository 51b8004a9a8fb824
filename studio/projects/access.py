"""Access to projects: every view that takes a project id goes through here, so that
outsiders get a 404 and never learn the project exists."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from studio.accounts.models import Membership, User
from studio.projects.models import Project


def project_for_user(user: User, project_id: int) -> tuple[Project, Membership]:
    """The project and the user's membership of its team, or 404."""
    membership = (
        Membership.objects.select_related("team")
        .filter(user=user, team__projects__pk=project_id)
        .first()
    )
    if membership is None:
        raise Http404("No such project.")
    project = Project.objects.select_related("team").get(pk=project_id)
    return project, membership


def project_for_generating(user: User, project_id: int) -> tuple[Project, Membership]:
    """As `project_for_user`, and the user may spend (viewers may not): else 403."""
    project, membership = project_for_user(user, project_id)
    if not membership.can_generate:
        raise PermissionDenied("Viewers can browse a project but not generate images.")
    return project, membership
