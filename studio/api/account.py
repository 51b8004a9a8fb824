"""The "API tokens" section of a person's account page: its context is built here so
that the account page (accounts.views) and the token forms (api.pages) share it, and
the account app needs nothing else of this one."""

from typing import Any

from studio.accounts.models import Membership, Role, User
from studio.api.forms import TokenCreateForm
from studio.api.models import ApiToken
from studio.api.services import NewToken

SECTION = "api/account_tokens.html"


def account_tokens_context(
    user: User,
    *,
    form: TokenCreateForm | None = None,
    new: NewToken | None = None,
    revoked: ApiToken | None = None,
) -> dict[str, Any]:
    form = form or TokenCreateForm(user=user)
    roles = Membership.objects.filter(user=user).values_list("role", flat=True)
    tokens = ApiToken.objects.filter(user=user).select_related("project", "team")
    return {
        "tokens": tokens,
        "token_form": form,
        "may_create_tokens": bool(form.project_groups),
        "viewer_only": set(roles) == {Role.VIEWER},
        "new_token": new,
        "revoked_token": revoked,
    }
