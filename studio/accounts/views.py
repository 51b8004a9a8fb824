"""Team administration: the team's settings, provider keys, members and invites, and
its audit log; plus the invite link's page, open to anyone holding the link; and each
person's own account: name, avatar colour, theme, password (changed, or reset by mail).

The team pages are for the team's admins only: outsiders get a 404 (the team's existence
stays private), members and viewers a 403, strangers the login page. Each form posts
with HTMX and gets its own partial back (422 with the errors when refused); without
JavaScript a saved form goes back to its page and a refused one shows on it.
"""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.timesince import timeuntil
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from studio.accounts import audit, services
from studio.accounts.access import team_for_admin
from studio.accounts.forms import (
    AuditFilterForm,
    InviteEmailForm,
    InviteForm,
    InviteSignUpForm,
    MemberCreateForm,
    MoveKeyForm,
    ProfileForm,
    ProviderKeyForm,
    RoleForm,
    RotateKeyForm,
    StudioPasswordChangeForm,
    StudioPasswordResetForm,
    StudioSetPasswordForm,
    TeamSettingsForm,
    ThemeForm,
)
from studio.accounts.models import (
    AuditEntry,
    AuthenticatedRequest,
    Invite,
    InviteState,
    Membership,
    ProviderKey,
    Role,
    Team,
    User,
)
from studio.api.account import account_tokens_context
from studio.billing.forms import TeamLimitsForm
from studio.realtime.groups import (
    RECONNECT,
    SESSION_ENDED,
    account_group,
    close_sockets,
    session_group,
)

TEAM_PAGE = "accounts/team.html"
KEYS_PAGE = "accounts/keys.html"
MEMBERS_PAGE = "accounts/members.html"
AUDIT_PAGE = "accounts/audit.html"
INVITE_PAGE = "accounts/invite.html"
ACCOUNT_PAGE = "accounts/account.html"
AUDIT_PAGE_SIZE = 50
# A key test the worker has not answered in this long is shown as stuck, and the row
# stops polling.
KEY_TEST_PATIENCE = datetime.timedelta(minutes=2)


def answer(
    request: AuthenticatedRequest,
    *,
    page: str,
    partial: str,
    context: dict[str, Any],
    ok: bool,
    page_url: str,
    page_context: Any,
) -> HttpResponse:
    """HTMX gets the form's partial (422 when refused). Without JavaScript a saved form
    goes back to its page, a refused one is shown on it (`page_context()` builds it)."""
    if request.htmx:
        return render(request, f"{page}#{partial}", context, status=200 if ok else 422)
    if ok:
        return redirect(page_url)
    return render(request, page, page_context(), status=422)


def team_tabs(team: Team, tab: str) -> dict[str, Any]:
    return {"team": team, "tab": tab}


# --- the team page ----------------------------------------------------------------------


def team_context(
    team: Team,
    *,
    form: TeamSettingsForm | None = None,
) -> dict[str, Any]:
    members = Membership.objects.filter(team=team)
    keys = list(team.provider_keys.all())
    default_key = next((key for key in keys if key.is_active), None)
    latest_entry = AuditEntry.objects.filter(team=team).first()
    return {
        **team_tabs(team, "team"),
        "form": form or TeamSettingsForm(instance=team, prefix="team"),
        "limits_form": TeamLimitsForm.for_team(team),
        "member_count": members.count(),
        "admin_count": members.filter(role=Role.ADMIN).count(),
        "open_invite_count": Invite.objects.filter(team=team).open().count(),
        "key_count": len(keys),
        "default_key": default_key,
        "latest_entry": latest_entry,
        "latest_phrase": audit.phrase(latest_entry) if latest_entry else None,
    }


@require_GET
@login_required
def team_page(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    return render(request, TEAM_PAGE, team_context(team))


@require_POST
@login_required
def team_save(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    old_name = team.name
    # A copy of the team for the form: a refused name must not show as the team's.
    form = TeamSettingsForm(request.POST, instance=Team.objects.get(pk=team.pk), prefix="team")
    ok = form.is_valid()
    if ok:
        try:
            services.team_update(
                team=team,
                actor=request.user,
                name=form.cleaned_data["name"],
                default_mode=form.cleaned_data["default_mode"],
            )
        except IntegrityError:  # renamed to a name another admin took a moment ago
            form.add_error("name", "Another team has this name.")
            ok = False
            team.name = old_name
    context = {
        **team_tabs(team, "team"),
        "form": TeamSettingsForm(instance=team, prefix="team") if ok else form,
        "saved": ok,
        "renamed": ok and team.name != old_name,
    }
    return answer(
        request,
        page=TEAM_PAGE,
        partial="team-form",
        context=context,
        ok=ok,
        page_url=reverse("accounts:team", args=[team.pk]),
        page_context=lambda: team_context(team, form=form),
    )


# --- provider keys ----------------------------------------------------------------------


@dataclass
class KeyRow:
    key: ProviderKey
    number: int  # its place in the order, from 1
    is_default: bool
    is_first: bool
    is_last: bool
    rotate_form: RotateKeyForm | None = None

    @property
    def test_stuck(self) -> bool:
        requested = self.key.test_requested_at
        return (
            self.key.is_testing
            and requested is not None
            and timezone.now() - requested > KEY_TEST_PATIENCE
        )


def key_rows(team: Team, *, rotate_forms: dict[int, RotateKeyForm] | None = None) -> list[KeyRow]:
    keys = list(team.provider_keys.order_by("position", "pk"))
    default = next((key for key in keys if key.is_active), None)
    return [
        KeyRow(
            key=key,
            number=index + 1,
            is_default=key == default,
            is_first=index == 0,
            is_last=index == len(keys) - 1,
            rotate_form=(rotate_forms or {}).get(key.pk),
        )
        for index, key in enumerate(keys)
    ]


def keys_context(
    team: Team,
    *,
    add_form: ProviderKeyForm | None = None,
    rotate_forms: dict[int, RotateKeyForm] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        **team_tabs(team, "keys"),
        "rows": key_rows(team, rotate_forms=rotate_forms),
        "add_form": add_form or ProviderKeyForm(),
        **extra,
    }


def key_for_admin(request: AuthenticatedRequest, team_id: int, key_id: int) -> ProviderKey:
    team = team_for_admin(request.user, team_id)
    key = get_object_or_404(ProviderKey.objects.select_related("team"), pk=key_id, team=team)
    return key


def keys_answer(
    request: AuthenticatedRequest,
    team: Team,
    *,
    ok: bool = True,
    **context: Any,
) -> HttpResponse:
    return answer(
        request,
        page=KEYS_PAGE,
        partial="keys-panel",
        context=keys_context(team, **context),
        ok=ok,
        page_url=reverse("accounts:keys", args=[team.pk]),
        page_context=lambda: keys_context(team, **context),
    )


@require_GET
@login_required
def keys_page(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    return render(request, KEYS_PAGE, keys_context(team))


@require_GET
@login_required
@vary_on_headers("HX-Request")
def key_row(request: AuthenticatedRequest, team_id: int, key_id: int) -> HttpResponse:
    """One key's row, polled while its test runs; the keys page for a browser that
    opens the address itself."""
    team = team_for_admin(request.user, team_id)
    if not request.htmx:
        return redirect("accounts:keys", team.pk)
    row = next((row for row in key_rows(team) if row.key.pk == key_id), None)
    if row is None:
        # Deleted meanwhile: 286 tells htmx to stop polling, and the empty body removes
        # the row.
        return HttpResponse(status=286)
    return render(request, f"{KEYS_PAGE}#key-row", {"team": team, "row": row})


@sensitive_post_parameters("key")
@require_POST
@login_required
def key_add(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    form = ProviderKeyForm(request.POST)
    if not form.is_valid():
        return keys_answer(request, team, ok=False, add_form=form)
    key = services.provider_key_add(
        team=team,
        actor=request.user,
        label=form.cleaned_data["label"],
        raw_key=form.cleaned_data["key"],
        provider=form.cleaned_data["provider"],
        base_url=form.cleaned_data["base_url"],
    )
    return keys_answer(request, team, added=key)


@sensitive_post_parameters("key")
@require_POST
@login_required
def key_rotate(request: AuthenticatedRequest, team_id: int, key_id: int) -> HttpResponse:
    key = key_for_admin(request, team_id, key_id)
    form = RotateKeyForm(request.POST)
    if not form.is_valid():
        return keys_answer(request, key.team, ok=False, rotate_forms={key.pk: form})
    services.provider_key_rotate(key=key, actor=request.user, raw_key=form.cleaned_data["key"])
    return keys_answer(request, key.team, rotated=key)


@require_POST
@login_required
def key_test(request: AuthenticatedRequest, team_id: int, key_id: int) -> HttpResponse:
    key = key_for_admin(request, team_id, key_id)
    services.provider_key_test_request(key=key, actor=request.user)
    return keys_answer(request, key.team)


@require_POST
@login_required
def key_disable(request: AuthenticatedRequest, team_id: int, key_id: int) -> HttpResponse:
    key = key_for_admin(request, team_id, key_id)
    services.provider_key_set_active(key=key, actor=request.user, active=False)
    return keys_answer(request, key.team)


@require_POST
@login_required
def key_enable(request: AuthenticatedRequest, team_id: int, key_id: int) -> HttpResponse:
    key = key_for_admin(request, team_id, key_id)
    services.provider_key_set_active(key=key, actor=request.user, active=True)
    return keys_answer(request, key.team)


@require_POST
@login_required
def key_delete(request: AuthenticatedRequest, team_id: int, key_id: int) -> HttpResponse:
    key = key_for_admin(request, team_id, key_id)
    services.provider_key_delete(key=key, actor=request.user)
    return keys_answer(request, key.team, deleted=key)


@require_POST
@login_required
def key_move(request: AuthenticatedRequest, team_id: int, key_id: int) -> HttpResponse:
    key = key_for_admin(request, team_id, key_id)
    form = MoveKeyForm(request.POST)
    if form.is_valid():
        services.provider_key_move(
            key=key, actor=request.user, direction=form.cleaned_data["direction"]
        )
    return keys_answer(request, key.team, ok=form.is_valid())


# --- members and invites ----------------------------------------------------------------


@dataclass
class MemberRow:
    membership: Membership
    is_you: bool
    error: str = ""
    saved: bool = False


def member_rows(
    team: Team,
    you: User,
    *,
    errors: dict[int, str] | None = None,
    saved: int | None = None,
) -> list[MemberRow]:
    memberships = (
        Membership.objects.filter(team=team)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__username")
    )
    return [
        MemberRow(
            membership=membership,
            is_you=membership.user_id == you.pk,
            error=(errors or {}).get(membership.pk, ""),
            saved=membership.pk == saved,
        )
        for membership in memberships
    ]


def public_url(request: HttpRequest, path: str) -> str:
    """`path` as a link that works outside this request (in a mail, pasted in a chat):
    on STUDIO_PUBLIC_URL when it is set, else on the address this request came to."""
    if settings.STUDIO_PUBLIC_URL:
        return settings.STUDIO_PUBLIC_URL.rstrip("/") + path
    return request.build_absolute_uri(path)


def invite_link(request: HttpRequest, invite: Invite) -> str:
    return public_url(request, reverse("accounts:invite", args=[invite.token]))


def invites_context(
    request: AuthenticatedRequest,
    team: Team,
    *,
    form: InviteForm | None = None,
    new_invite: Invite | None = None,
    revoked: bool = False,
    email_form: InviteEmailForm | None = None,
    emailed_to: str = "",
    email_error: str = "",
) -> dict[str, Any]:
    open_invites = list(
        Invite.objects.filter(team=team).open().select_related("created_by").order_by("-created_at")
    )
    for invite in open_invites:
        invite.time_left = timeuntil(invite.expires_at, depth=1)  # type: ignore[attr-defined]
    return {
        "team": team,
        "invite_form": form or InviteForm(),
        "open_invites": open_invites,
        "new_invite": new_invite,
        "new_link": invite_link(request, new_invite) if new_invite else "",
        "revoked": revoked,
        "email_form": email_form or InviteEmailForm(),
        "emailed_to": emailed_to,
        "email_error": email_error,
    }


def members_context(
    request: AuthenticatedRequest,
    team: Team,
    *,
    create_form: MemberCreateForm | None = None,
    invite_form: InviteForm | None = None,
    errors: dict[int, str] | None = None,
) -> dict[str, Any]:
    return {
        **team_tabs(team, "members"),
        "rows": member_rows(team, request.user, errors=errors),
        "roles": Role.choices,
        "create_form": create_form or MemberCreateForm(),
        **invites_context(request, team, form=invite_form),
    }


def member_for_admin(request: AuthenticatedRequest, team_id: int, membership_id: int) -> Membership:
    team = team_for_admin(request.user, team_id)
    # Scoped to the team: another team's membership id is a 404.
    return get_object_or_404(
        Membership.objects.select_related("user", "team"), pk=membership_id, team=team
    )


def member_list_answer(
    request: AuthenticatedRequest,
    team: Team,
    *,
    ok: bool,
    errors: dict[int, str] | None = None,
    saved: int | None = None,
) -> HttpResponse:
    if not Membership.objects.filter(team=team, user=request.user, role=Role.ADMIN).exists():
        # The admin changed their own role or left: the team pages are closed to them now.
        url = reverse("projects:home") + "?all=1"
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return answer(
        request,
        page=MEMBERS_PAGE,
        partial="member-list",
        context={
            "team": team,
            "roles": Role.choices,
            "rows": member_rows(team, request.user, errors=errors, saved=saved),
        },
        ok=ok,
        page_url=reverse("accounts:members", args=[team.pk]),
        page_context=lambda: members_context(request, team, errors=errors),
    )


@require_GET
@login_required
def members_page(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    return render(request, MEMBERS_PAGE, members_context(request, team))


@require_POST
@login_required
def member_role(request: AuthenticatedRequest, team_id: int, membership_id: int) -> HttpResponse:
    membership = member_for_admin(request, team_id, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        error = " ".join(str(message) for message in form.errors.get("role", []))
        return member_list_answer(request, membership.team, ok=False, errors={membership.pk: error})
    try:
        services.member_role_change(
            membership=membership, actor=request.user, role=form.cleaned_data["role"]
        )
    except services.LastAdminError as error:
        return member_list_answer(
            request, membership.team, ok=False, errors={membership.pk: str(error)}
        )
    return member_list_answer(request, membership.team, ok=True, saved=membership.pk)


@require_POST
@login_required
def member_remove(request: AuthenticatedRequest, team_id: int, membership_id: int) -> HttpResponse:
    membership = member_for_admin(request, team_id, membership_id)
    try:
        services.member_remove(membership=membership, actor=request.user)
    except services.LastAdminError as error:
        return member_list_answer(
            request, membership.team, ok=False, errors={membership.pk: str(error)}
        )
    return member_list_answer(request, membership.team, ok=True)


@sensitive_post_parameters("password")
@require_POST
@login_required
def member_create(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    form = MemberCreateForm(request.POST)
    ok = form.is_valid()
    created = None
    if ok:
        try:
            created = services.member_create(
                team=team,
                actor=request.user,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                role=form.cleaned_data["role"],
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
            )
        except IntegrityError:  # the username was taken a moment ago
            form.add_error("username", "That username is taken.")
            ok = False
    if not request.htmx:
        if ok:
            return redirect("accounts:members", team.pk)
        return render(
            request, MEMBERS_PAGE, members_context(request, team, create_form=form), status=422
        )
    context = {
        "team": team,
        "roles": Role.choices,
        "create_form": MemberCreateForm() if ok else form,
        "created": created,
    }
    html = render_to_string(f"{MEMBERS_PAGE}#member-create", context, request=request)
    if ok:
        # The new member joins the list at once.
        html += render_to_string(
            f"{MEMBERS_PAGE}#member-list",
            {**context, "rows": member_rows(team, request.user), "oob": True},
            request=request,
        )
    return HttpResponse(html, status=200 if ok else 422)


@require_POST
@login_required
def invite_create(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    form = InviteForm(request.POST)
    ok = form.is_valid()
    invite = None
    if ok:
        invite = services.invite_create(
            team=team,
            actor=request.user,
            role=form.cleaned_data["role"],
            days=form.cleaned_data["days"],
        )
    if not request.htmx and ok:
        # Without JavaScript the link still shows once: on the page this answer renders.
        return render(
            request,
            MEMBERS_PAGE,
            {**members_context(request, team), **invites_context(request, team, new_invite=invite)},
        )
    return answer(
        request,
        page=MEMBERS_PAGE,
        partial="invites",
        context=invites_context(request, team, form=None if ok else form, new_invite=invite),
        ok=ok,
        page_url=reverse("accounts:members", args=[team.pk]),
        page_context=lambda: members_context(request, team, invite_form=form),
    )


@require_POST
@login_required
def invite_email(request: AuthenticatedRequest, team_id: int, invite_id: int) -> HttpResponse:
    """Send a new invite's link by mail; the link stays on screen, sent or not. Only the
    admin who made the invite may: the answer shows its link again, which everyone
    else saw only once or never."""
    team = team_for_admin(request.user, team_id)
    invite = get_object_or_404(
        Invite.objects.select_related("team", "created_by"),
        pk=invite_id,
        team=team,
        created_by=request.user,
    )
    form = InviteEmailForm(request.POST)
    emailed_to = email_error = ""
    if form.is_valid():
        address = form.cleaned_data["email"]
        try:
            services.invite_email(
                invite=invite,
                actor=request.user,
                address=address,
                link=invite_link(request, invite),
            )
            emailed_to = address
        except (services.InviteClosedError, services.MailNotSentError) as problem:
            email_error = str(problem)
    ok = bool(emailed_to)
    context = invites_context(
        request,
        team,
        new_invite=invite if invite.state == InviteState.OPEN else None,
        email_form=None if ok else form,
        emailed_to=emailed_to,
        email_error=email_error,
    )
    if not request.htmx:
        status = 200 if ok else 422
        return render(
            request, MEMBERS_PAGE, {**members_context(request, team), **context}, status=status
        )
    return render(request, f"{MEMBERS_PAGE}#invites", context, status=200 if ok else 422)


@require_POST
@login_required
def invite_revoke(request: AuthenticatedRequest, team_id: int, invite_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    invite = get_object_or_404(Invite.objects.select_related("team"), pk=invite_id, team=team)
    revoked = services.invite_revoke(invite=invite, actor=request.user)
    return answer(
        request,
        page=MEMBERS_PAGE,
        partial="invites",
        context=invites_context(request, team, revoked=revoked),
        ok=True,
        page_url=reverse("accounts:members", args=[team.pk]),
        page_context=lambda: members_context(request, team),
    )


# --- the invite link --------------------------------------------------------------------


GONE_STATES = {InviteState.EXPIRED, InviteState.USED, InviteState.REVOKED}


def invite_answer(
    request: HttpRequest,
    invite: Invite,
    *,
    form: InviteSignUpForm | None = None,
    status: int | None = None,
) -> HttpResponse:
    state = invite.state
    user = request.user
    already_member = (
        user.is_authenticated
        and Membership.objects.filter(team_id=invite.team_id, user_id=user.pk).exists()
    )
    if status is None:
        status = 410 if state in GONE_STATES else 200
    context = {
        "invite": invite,
        "team": invite.team,
        "state": state,
        "already_member": already_member,
        "form": form or InviteSignUpForm(),
    }
    return render(request, INVITE_PAGE, context, status=status)


def open_invite(token: str) -> Invite:
    return get_object_or_404(Invite.objects.select_related("team", "created_by"), token=token)


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def invite_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link's page. A POST joins: with one click when logged in, else by signing up."""
    invite = open_invite(token)
    if request.method == "GET" or invite.state in GONE_STATES:
        return invite_answer(request, invite)
    if isinstance(request.user, User):
        return invite_accept(request, invite, request.user)
    return invite_sign_up(request, invite)


def invite_accept(request: HttpRequest, invite: Invite, user: User) -> HttpResponse:
    outcome = services.invite_accept(invite=invite, user=user)
    if outcome == services.InviteOutcome.GONE:
        invite.refresh_from_db()
        return invite_answer(request, invite)
    if outcome == services.InviteOutcome.ALREADY_MEMBER:
        return invite_answer(request, invite)
    return redirect(reverse("projects:home") + "?all=1")


def invite_sign_up(request: HttpRequest, invite: Invite) -> HttpResponse:
    form = InviteSignUpForm(request.POST)
    if not form.is_valid():
        return invite_answer(request, invite, form=form, status=422)
    try:
        user = services.invite_sign_up(
            invite=invite,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
        )
    except IntegrityError:  # the username was taken a moment ago
        form.add_error("username", "That username is taken.")
        return invite_answer(request, invite, form=form, status=422)
    if user is None:
        invite.refresh_from_db()
        return invite_answer(request, invite)
    login(request, user)
    return redirect(reverse("projects:home") + "?all=1")


# --- the audit log ----------------------------------------------------------------------


@dataclass
class AuditRow:
    entry: AuditEntry
    phrase: audit.Phrase
    changes: list[audit.Change] = field(default_factory=list)


def audit_entries(team: Team, filters: dict[str, Any]) -> Any:
    """The team's entries, newest first, narrowed by the filters that read."""
    entries = AuditEntry.objects.filter(team=team).select_related("actor")
    if "actor" in filters:
        entries = entries.filter(actor_id=filters["actor"])
    if "action" in filters:
        entries = entries.filter(action__startswith=filters["action"])
    if "date_from" in filters:
        entries = entries.filter(created_at__date__gte=filters["date_from"])
    if "date_to" in filters:
        entries = entries.filter(created_at__date__lte=filters["date_to"])
    return entries.order_by("-created_at", "-pk")


@require_GET
@login_required
@vary_on_headers("HX-Request")
def audit_page(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    filter_form = AuditFilterForm(request.GET, team=team)
    filters = filter_form.filters()
    paginator = Paginator(audit_entries(team, filters), AUDIT_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [
        AuditRow(entry=entry, phrase=audit.phrase(entry), changes=audit.readable_changes(entry))
        for entry in page.object_list
    ]
    query = urlencode(
        [(name, value) for name, value in filter_form.data.items() if name != "page" and value]
    )
    context = {
        **team_tabs(team, "audit"),
        "filter_form": filter_form,
        "filtered": bool(filters),
        "page": page,
        "rows": rows,
        "query": query,
    }
    if request.htmx and request.GET.get("page"):
        # "Load more": the next entries, and the next button, appended to the list.
        return render(request, f"{AUDIT_PAGE}#audit-rows", context)
    return render(request, AUDIT_PAGE, context)


# --- one's own account ------------------------------------------------------------------


def account_context(
    user: User,
    *,
    profile_form: ProfileForm | None = None,
    theme_form: ThemeForm | None = None,
    tokens: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "profile_form": profile_form or ProfileForm.for_user(user),
        "theme_form": theme_form or ThemeForm(initial={"theme": user.theme}),
        "teams": Membership.objects.filter(user=user).select_related("team").order_by("team__name"),
        # The API tokens section (studio/api): one's own tokens and the form for a new one.
        **(tokens or account_tokens_context(user)),
    }


@require_GET
@login_required
def account_page(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, ACCOUNT_PAGE, account_context(request.user))


@require_POST
@login_required
def account_profile(request: AuthenticatedRequest) -> HttpResponse:
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return render(
            request, ACCOUNT_PAGE, account_context(request.user, profile_form=form), status=422
        )
    form.save(request.user)
    messages.success(request, "Saved: others now see you as " + request.user.display_name + ".")
    return redirect("accounts:account")


@require_POST
@login_required
def account_theme(request: AuthenticatedRequest) -> HttpResponse:
    form = ThemeForm(request.POST)
    if not form.is_valid():
        return render(
            request, ACCOUNT_PAGE, account_context(request.user, theme_form=form), status=422
        )
    request.user.theme = form.cleaned_data["theme"]
    request.user.save(update_fields=["theme"])
    messages.success(request, f"Theme: {request.user.get_theme_display().lower()}.")
    return redirect("accounts:account")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, which keeps this session logged in and ends the others."""

    template_name = "accounts/password_change.html"
    form_class = StudioPasswordChangeForm
    success_url = reverse_lazy("accounts:password-change-done")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        # Every socket of the person's reconnects and is checked afresh: this session's
        # come back, the ended sessions' are refused.
        close_sockets(account_group(form.user.pk), code=RECONNECT)
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    """Asks for an address and answers the same whether or not an account has it; the
    worker sends the mail. Its link is built on STUDIO_PUBLIC_URL, like every link
    Studio sends."""

    template_name = "accounts/password_reset.html"
    form_class = StudioPasswordResetForm
    success_url = reverse_lazy("accounts:password-reset-sent")

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {"base_url": public_url(self.request, "").rstrip("/")}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = StudioSetPasswordForm
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        # The new password ends every session the person had, and so their sockets.
        close_sockets(account_group(form.user.pk), code=SESSION_ENDED)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class LogoutView(auth_views.LogoutView):
    """Logging out also ends the live updates that session still has open in other tabs."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session_key = request.session.session_key
        response = super().post(request, *args, **kwargs)
        if session_key:
            close_sockets(session_group(session_key), code=SESSION_ENDED)
        return response
