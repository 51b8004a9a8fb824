"""The pages people use for the API: their tokens (made and revoked on the account page,
each with its own page), the team's tokens for its admins, and the API's docs.

A token's page is for its owner and the admins of its team; anyone else gets a 404 (a
token's existence stays private). Forms post with HTMX and get their section back (422
with the errors when refused); without JavaScript they answer with their page."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from studio.accounts import views as account_views
from studio.accounts.access import team_for_admin
from studio.accounts.models import AuthenticatedRequest, Membership, Role, Team, User
from studio.api import protocol, services
from studio.api.account import SECTION, account_tokens_context
from studio.api.forms import TokenCreateForm, TokenLimitsForm, projects_for_tokens
from studio.api.models import ApiToken
from studio.projects.models import Project

TOKEN_PAGE = "api/token.html"  # noqa: S105 (a template, not a secret)
TEAM_TOKENS_PAGE = "api/team_tokens.html"
DOCS_PAGE = "api/docs.html"
# A token's page lists its latest webhook deliveries, no more.
DELIVERIES_SHOWN = 100


def token_for(user: User, token_id: int) -> ApiToken:
    """The token, if `user` owns it or administers its team; else a 404."""
    token = (
        ApiToken.objects.select_related("user", "project", "team", "revoked_by")
        .filter(pk=token_id)
        .first()
    )
    if token is None:
        raise Http404("No such token.")
    if token.user_id == user.pk:
        return token
    if Membership.objects.filter(user=user, team=token.team_id, role=Role.ADMIN).exists():
        return token
    raise Http404("No such token.")


# --- one's own tokens, on the account page ----------------------------------------------


def account_answer(
    request: AuthenticatedRequest, tokens: dict[str, Any], *, ok: bool
) -> HttpResponse:
    """HTMX gets the section; without JavaScript the account page shows it (a new token's
    secret included, which a redirect would lose)."""
    status = 200 if ok else 422
    if request.htmx:
        return render(request, f"{SECTION}#api-tokens", tokens, status=status)
    context = account_views.account_context(request.user, tokens=tokens)
    return render(request, account_views.ACCOUNT_PAGE, context, status=status)


@never_cache  # the answer holds the new secret: no cache keeps it
@require_POST
@login_required
def token_create(request: AuthenticatedRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST, user=request.user)
    if not form.project_groups:
        raise PermissionDenied("Viewers cannot create API tokens: a token spends the team’s money.")
    new = None
    if form.is_valid():
        try:
            new = services.token_create(
                user=request.user,
                project=form.cleaned_data["project"],
                name=form.cleaned_data["name"],
                expires_at=form.expires_at,
            )
        except services.TokenRefused as refused:
            form.add_error(None, str(refused))
    tokens = account_tokens_context(request.user, form=None if new else form, new=new)
    return account_answer(request, tokens, ok=new is not None)


@require_POST
@login_required
def token_revoke(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    """Revoke from the account page's list (HTMX: the section comes back) or from the
    token's page (which it goes back to)."""
    token = token_for(request.user, token_id)
    services.token_revoke(token=token, actor=request.user)
    if request.htmx and request.htmx.target == "api-tokens":
        tokens = account_tokens_context(request.user, revoked=token)
        return render(request, f"{SECTION}#api-tokens", tokens)
    messages.success(request, f"Revoked “{token.name}”: its next request is refused.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("api:token", args=[token.pk]))
    return redirect("api:token", token.pk)


# --- one token's page -------------------------------------------------------------------


@require_GET
@login_required
def token_page(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    token = token_for(request.user, token_id)
    deliveries = token.deliveries.select_related("api_task")
    context = {
        "token": token,
        "is_owner": token.user_id == request.user.pk,
        "addresses": token.addresses.all(),
        "deliveries": deliveries[:DELIVERIES_SHOWN],
        "delivery_count": deliveries.count(),
        "deliveries_shown": DELIVERIES_SHOWN,
        "task_count": token.tasks.count(),
    }
    return render(request, TOKEN_PAGE, context)


# --- the team's tokens, for its admins --------------------------------------------------


@dataclass
class TeamTokenRow:
    token: ApiToken
    limits_form: TokenLimitsForm
    saved: bool = False

    @property
    def refused(self) -> bool:
        return self.limits_form.is_bound and bool(self.limits_form.errors)


def team_tokens_context(
    team: Team,
    *,
    refused: tuple[int, TokenLimitsForm] | None = None,
    saved: int | None = None,
    revoked: ApiToken | None = None,
) -> dict[str, Any]:
    tokens = ApiToken.objects.filter(team=team).select_related("user", "project")
    rows = []
    for token in tokens:
        form = TokenLimitsForm(
            team=team,
            initial={
                "requests_per_minute": token.requests_per_minute,
                "max_running": token.max_running,
            },
        )
        if refused and refused[0] == token.pk:
            form = refused[1]
        rows.append(TeamTokenRow(token=token, limits_form=form, saved=token.pk == saved))
    return {
        **account_views.team_tabs(team, "tokens"),
        "rows": rows,
        "active_count": sum(1 for row in rows if row.token.is_usable),
        "revoked_token": revoked,
    }


def team_tokens_answer(
    request: AuthenticatedRequest, team: Team, *, ok: bool = True, **context: Any
) -> HttpResponse:
    if request.htmx:
        status = 200 if ok else 422
        page = f"{TEAM_TOKENS_PAGE}#team-tokens"
        return render(request, page, team_tokens_context(team, **context), status=status)
    if ok:
        return redirect("api:team-tokens", team.pk)
    return render(request, TEAM_TOKENS_PAGE, team_tokens_context(team, **context), status=422)


def team_token_for_admin(request: AuthenticatedRequest, team_id: int, token_id: int) -> ApiToken:
    team = team_for_admin(request.user, team_id)
    tokens = ApiToken.objects.select_related("team", "user")
    return get_object_or_404(tokens, pk=token_id, team=team)


@require_GET
@login_required
def team_tokens(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    team = team_for_admin(request.user, team_id)
    return render(request, TEAM_TOKENS_PAGE, team_tokens_context(team))


@require_POST
@login_required
def team_token_revoke(request: AuthenticatedRequest, team_id: int, token_id: int) -> HttpResponse:
    token = team_token_for_admin(request, team_id, token_id)
    services.token_revoke(token=token, actor=request.user)
    return team_tokens_answer(request, token.team, revoked=token)


@require_POST
@login_required
def team_token_limits(request: AuthenticatedRequest, team_id: int, token_id: int) -> HttpResponse:
    token = team_token_for_admin(request, team_id, token_id)
    form = TokenLimitsForm(request.POST, team=token.team)
    if not form.is_valid():
        return team_tokens_answer(request, token.team, ok=False, refused=(token.pk, form))
    services.token_set_limits(
        token=token,
        actor=request.user,
        requests_per_minute=form.cleaned_data["requests_per_minute"],
        max_running=form.cleaned_data["max_running"],
    )
    return team_tokens_answer(request, token.team, saved=token.pk)


# --- the docs ---------------------------------------------------------------------------

# What each task type takes in `input`, as the docs list it.
TASK_INPUTS = {
    "imagine": "prompt, aspect_ratio, process_mode",
    "describe": "image_url, process_mode",
    "blend": "image_urls (2 to 5), dimension, process_mode",
    "upscale": "origin_task_id, index",
    "variation": "origin_task_id, index, prompt",
    "reroll": "origin_task_id, prompt",
    "inpaint": "origin_task_id, mask, prompt",
    "outpaint": "origin_task_id, zoom_ratio, prompt",
    "pan": "origin_task_id, direction, prompt",
    "seed": "origin_task_id",
}


def base_url(request: HttpRequest) -> str:
    return settings.STUDIO_PUBLIC_URL.rstrip("/") or request.build_absolute_uri("/").rstrip("/")


def docs_project(user: User) -> Project | None:
    """The project the examples are filled with: the first one `user` may spend in."""
    return projects_for_tokens(user).first() or Project.objects.visible_to(user).first()


def docs_examples(base: str) -> dict[str, str]:
    """The docs' shell examples, ready to paste: the token stays in `$STUDIO_TOKEN`."""
    return {
        "token": 'export STUDIO_TOKEN="studio_…"  # your token, from your account page',
        "imagine": (
            f'curl -X POST "{base}/api/v1/task" \\\n'
            '  -H "x-api-key: $STUDIO_TOKEN" \\\n'
            '  -H "Content-Type: application/json" \\\n'
            '  -d \'{"model": "midjourney", "task_type": "imagine",\n'
            '       "input": {"prompt": "a lighthouse on a cliff at dusk",\n'
            '                 "aspect_ratio": "16:9", "process_mode": "fast"}}\''
        ),
        "task": f'curl "{base}/api/v1/task/$TASK_ID" \\\n  -H "x-api-key: $STUDIO_TOKEN"',
        "account": f'curl "{base}/account/info" \\\n  -H "x-api-key: $STUDIO_TOKEN"',
        "webhook": (
            '"config": {"webhook_config": {"endpoint": "https://example.com/hooks/studio",\n'
            '                              "secret": "a long random string"}}'
        ),
        "delivery": (
            "POST https://example.com/hooks/studio\n"
            "x-webhook-secret: a long random string\n"
            "Content-Type: application/json\n\n"
            '{"timestamp": 1767225600, "data": {"task_id": "…", "status": "completed", …}}'
        ),
    }


@require_GET
@login_required
def docs(request: AuthenticatedRequest) -> HttpResponse:
    base = base_url(request)
    project = docs_project(request.user)
    usable = ApiToken.objects.usable().filter(user=request.user).select_related("project")
    context = {
        "base_url": base,
        "project": project,
        "examples": docs_examples(base),
        "token": usable.first(),
        "may_create_tokens": projects_for_tokens(request.user).exists(),
        "task_types": [(name, TASK_INPUTS.get(name, "")) for name in protocol.TASK_TYPES],
        "new_work": protocol.NEW_WORK,
        "file_days": settings.API_FILE_URL_SECONDS // 86400,
        "max_megabytes": settings.API_REQUEST_MAX_BYTES / (1024 * 1024),
    }
    return render(request, DOCS_PAGE, context)
