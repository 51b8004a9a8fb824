"""Django's admin, for support: people, teams and memberships; provider keys, invites and
the audit log read-only. Secrets stay out: no key (encrypted or not), no invite token."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from studio.accounts.models import AuditEntry, Invite, Membership, ProviderKey, Team, User

admin.site.register(User, UserAdmin)


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
