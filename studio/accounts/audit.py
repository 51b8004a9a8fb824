"""The team's audit log: one function writes it, every admin action calls it.

An entry says who did what to which thing, and what changed as {field: [before, after]}.
Secrets never go in: callers describe a key as `ProviderKey.described` (label and last
four characters), and values are stored as short readable strings.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from studio.accounts.models import AuditEntry, Team, User

# What each action reads as after the actor's name; {target} is where its target goes.
ACTION_PHRASES: dict[str, str] = {
    "key.added": "added key {target}",
    "key.rotated": "rotated key {target}",
    "key.tested": "tested key {target}",
    "key.disabled": "disabled key {target}",
    "key.enabled": "enabled key {target}",
    "key.deleted": "deleted key {target}",
    "key.reordered": "moved key {target}",
    "member.role_changed": "changed the role of {target}",
    "member.removed": "removed {target} from the team",
    "member.created": "created an account for {target}",
    "invite.created": "created an invite link for {target}",
    "invite.revoked": "revoked an invite link for {target}",
    "invite.emailed": "emailed an invite link to {target}",
    "invite.accepted": "joined the team through an invite link",
    "team.renamed": "renamed the team to {target}",
    "team.settings_changed": "changed the team’s settings",
    "price.changed": "changed the prices",
    "prices.changed": "changed the {target} prices",
    "price_override.added": "set the price of {target}",
    "price_override.removed": "removed the price of {target}",
    "budget.changed": "changed the budget of {target}",
    "limits.changed": "changed Turbo and concurrency",
    "share.created": "created a share link for {target}",
    "share.revoked": "revoked the share link for {target}",
    "hold.charged": "charged the hold of {target}, whose outcome was unknown",
    "hold.released": "released the hold of {target}, whose outcome was unknown",
    "token.created": "created the API token {target}",
    "token.revoked": "revoked the API token {target}",
    "token.new_address": "used the API token {target} from a new address",
    "token.limits_changed": "changed the limits of the API token {target}",
}

# The audit page's "what" filter: a prefix matches every action that starts with it.
ACTION_GROUPS: list[tuple[str, str]] = [
    ("key", "Provider keys"),
    ("member", "Members"),
    ("invite", "Invites"),
    ("team", "Team settings"),
    ("price", "Prices"),
    ("budget", "Budgets"),
    ("limits", "Turbo and concurrency"),
    ("share", "Share links"),
    ("hold", "Unknown outcomes settled"),
    ("token", "API tokens"),
]

# Field names in `changes` as people read them.
FIELD_LABELS: dict[str, str] = {
    "name": "Name",
    "default_mode": "Default mode",
    "label": "Label",
    "last4": "Key ending",
    "provider": "Provider",
    "base_url": "Base URL",
    "position": "Position",
    "is_active": "Active",
    "role": "Role",
    "expires_at": "Expires",
    "result": "Result",
    "relax": "Relax",
    "fast": "Fast",
    "turbo": "Turbo",
    "total": "Total",
    "amount": "Price",
    "turbo_roles": "Turbo for",
    "concurrency_limit": "Jobs at once",
    "username": "Username",
    "email": "Email",
    "address": "Address",
    "project": "Project",
    "requests_per_minute": "Requests a minute",
    "max_running": "Jobs at once (token)",
    "hold": "Hold",
}

Value = str | int | bool | None


def record(
    *,
    team: Team,
    actor: User | None,
    action: str,
    target: str,
    changes: Mapping[str, tuple[Any, Any] | list[Any]] | None = None,
) -> AuditEntry:
    """Write one entry to the team's audit log. Call it inside the action's transaction,
    so that an action and its entry are saved together or not at all."""
    return AuditEntry.objects.create(
        team=team,
        actor=actor,
        actor_name=actor.display_name if actor is not None else "",
        action=action,
        target=target[:200],
        changes={
            field: [plain(before), plain(after)]
            for field, (before, after) in (changes or {}).items()
        },
    )


def record_changes(
    *,
    team: Team,
    actor: User | None,
    action: str,
    target: str,
    changes: Mapping[str, tuple[Any, Any] | list[Any]],
) -> AuditEntry | None:
    """`record`, for a save that may have changed nothing: then nothing is written."""
    if not changes:
        return None
    return record(team=team, actor=actor, action=action, target=target, changes=changes)


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose value differs, as {field: (before, after)}; an empty dict when
    nothing changed (the caller then records nothing)."""
    fields = list(before) + [field for field in after if field not in before]
    return {
        field: (before.get(field), after.get(field))
        for field in fields
        if plain(before.get(field)) != plain(after.get(field))
    }


def plain(value: Any) -> Value:
    """A value as the log keeps it: JSON-ready and readable."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, datetime.datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, list | tuple | set):
        return ", ".join(str(item) for item in value)
    return str(value)


@dataclass(frozen=True)
class Change:
    label: str
    before: Value
    after: Value


@dataclass(frozen=True)
class Phrase:
    """What the entry says after the actor's name, split around its target so that a
    template can set the target apart."""

    before: str
    target: str
    after: str


def phrase(entry: AuditEntry) -> Phrase:
    template = ACTION_PHRASES.get(entry.action, entry.action + " {target}")
    if "{target}" not in template:
        return Phrase(template, "", "")
    before, _, after = template.partition("{target}")
    return Phrase(before, entry.target, after)


def readable(value: Value) -> Value:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def readable_changes(entry: AuditEntry) -> list[Change]:
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    return [
        Change(
            FIELD_LABELS.get(field, field.replace("_", " ").capitalize()),
            readable(pair[0]),
            readable(pair[1]),
        )
        for field, pair in changes.items()
        if isinstance(pair, list) and len(pair) == 2
    ]
