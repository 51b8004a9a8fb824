"""Budget meters, pushed live as money is held, charged and released."""

from django.template.loader import render_to_string

from studio.accounts.models import Team, User
from studio.billing.meter import meter_for
from studio.realtime.groups import member_group, push_html, team_group

METER = "billing/meter.html"


def meters_html(*, team: Team, user: User, oob: bool = False) -> str:
    mine = render_to_string(
        f"{METER}#meter-me", {"meter": meter_for(team=team, user=user), "oob": oob}
    )
    return mine + team_meter_html(team=team, oob=oob)


def team_meter_html(*, team: Team, oob: bool = False) -> str:
    return render_to_string(
        f"{METER}#meter-team", {"meter": meter_for(team=team, user=None), "oob": oob}
    )


def push_meters(*, team_id: int, user_id: int) -> None:
    team = Team.objects.get(pk=team_id)
    user = User.objects.get(pk=user_id)
    mine = render_to_string(
        f"{METER}#meter-me", {"meter": meter_for(team=team, user=user), "oob": True}
    )
    push_html(member_group(team_id, user_id), mine)
    push_html(team_group(team_id), team_meter_html(team=team, oob=True))
