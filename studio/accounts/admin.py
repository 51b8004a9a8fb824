"""Django's admin, for support: people, teams and memberships; provider keys, invites and
the audit log read-only. Secrets stay out: no key (encrypted or not), no invite token.

Whatever here takes access away (deactivating, deleting or re-passwording a person,
removing a member or changing their role, deleting a team) also ends the sockets it
concerns, as Studio's own pages do."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse

from studio.accounts.models import AuditEntry, Invite, Membership, ProviderKey, Team, User
from studio.realtime.groups import (
    ACCESS_ENDED,
    RECONNECT,
    SESSION_ENDED,
    account_group,
    close_sockets,
    member_group,
)


def _password_of(user_id: str) -> str | None:
    return User.objects.filter(pk=user_id).values_list("password", flat=True).first()


@admin.register(User)
class StudioUserAdmin(UserAdmin[User]):
    def save_model(
        self, request: HttpRequest, obj: User, form: ModelForm[User], change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            close_sockets(account_group(obj.pk), code=ACCESS_ENDED)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        user_id = obj.pk
        super().delete_model(request, obj)
        close_sockets(account_group(user_id), code=ACCESS_ENDED)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        user_ids = list(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)
        for user_id in user_ids:
            close_sockets(account_group(user_id), code=ACCESS_ENDED)

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        # A new password ends the person's other sessions, so their sockets too.
        before = _password_of(unquote(id))
        response = super().user_change_password(request, id, form_url)
        if before is not None and _password_of(unquote(id)) != before:
            close_sockets(account_group(int(unquote(id))), code=SESSION_ENDED)
        return response


class ReadOnlyAdmin[ModelT: Any](admin.ModelAdmin[ModelT]):
    """Changed only through Studio's own pages, which audit every change."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "default_mode", "concurrency_limit", "turbo_roles", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    def save_formset(
        self,
        request: HttpRequest,
        form: ModelForm[Team],
        formset: BaseInlineFormSet[Membership, Team, Any],
        change: bool,
    ) -> None:
        team = form.instance
        before = {m.pk: (m.user_id, m.role) for m in Membership.objects.filter(team=team)}
        super().save_formset(request, form, formset, change)
        after = {m.pk: (m.user_id, m.role) for m in Membership.objects.filter(team=team)}
        for pk, (user_id, role) in before.items():
            now = after.get(pk)
            if now is None or now[0] != user_id:
                close_sockets(member_group(team.pk, user_id), code=ACCESS_ENDED)
            elif now[1] != role:
                close_sockets(member_group(team.pk, user_id), code=RECONNECT)

    def delete_model(self, request: HttpRequest, obj: Team) -> None:
        self.delete_queryset(request, Team.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Team]) -> None:
        members = list(
            Membership.objects.filter(team__in=queryset).values_list("team_id", "user_id")
        )
        super().delete_queryset(request, queryset)
        for team_id, user_id in members:
            close_sockets(member_group(team_id, user_id), code=ACCESS_ENDED)


@admin.register(ProviderKey)
class ProviderKeyAdmin(ReadOnlyAdmin[ProviderKey]):
    list_display = ["team", "label", "last4", "position", "is_active", "last_test_ok"]
    list_filter = ["is_active"]
    exclude = ["encrypted_key"]


@admin.register(Invite)
class InviteAdmin(ReadOnlyAdmin[Invite]):
    list_display = ["team", "role", "created_by", "created_at", "expires_at", "state"]
    exclude = ["token"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin[AuditEntry]):
    list_display = ["created_at", "team", "actor_name", "action", "target"]
    list_filter = ["action"]
    search_fields = ["target", "actor_name"]
