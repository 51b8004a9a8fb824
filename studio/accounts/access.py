"""Access to a team's administration: every admin page goes through here."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from studio.accounts.models import Membership, Role, Team, User


def team_for_admin(user: User, team_id: int) -> Team:
    """The team, if the user administers it: 404 for outsiders, 403 for other roles."""
    membership = (
        Membership.objects.select_related("team").filter(user=user, team_id=team_id).first()
    )
    if membership is None:
        raise Http404("No such team.")
    if membership.role != Role.ADMIN:
        raise PermissionDenied("Only the team's admins can manage the team and its money.")
    return membership.team
