"""Setting a team up (`manage.py provision`, the demo) and running it: its settings,
provider keys, members and invites. Each change is written with its audit entry, in one
transaction."""

import datetime
import enum
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from studio.accounts import audit
from studio.accounts.crypto import DecryptionError
from studio.accounts.models import (
    Invite,
    Membership,
    ProviderKey,
    Role,
    Team,
    User,
)
from studio.billing.models import Budget
from studio.projects.models import Project
from studio.providers import provider_class
from studio.providers.base import ProviderError
from studio.realtime.groups import ACCESS_ENDED, RECONNECT, close_sockets, member_group

LAST_ADMIN_MESSAGE = "A team needs at least one admin."


@dataclass
class ProvisionReport:
    done: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.done.append(line)


def team_provision(
    *,
    team_name: str,
    project_name: str = "",
    username: str = "",
    password: str = "",
    role: str = Role.MEMBER,
    piapi_key: str = "",
    legnext_key: str = "",
    budget: Decimal | None = None,
) -> ProvisionReport:
    """Create whatever of team, project, user, membership and provider key is missing.
    Running it twice changes nothing the second time."""
    report = ProvisionReport()
    with transaction.atomic():
        team, created = Team.objects.get_or_create(name=team_name)
        report.say(f"{'Created' if created else 'Found'} team {team.name!r}.")
        if budget is not None:
            _, created = Budget.objects.get_or_create(
                team=team, user=None, mode="", defaults={"amount": budget}
            )
            if created:
                report.say(f"Set the team's monthly budget to ${budget}.")
        if project_name:
            project, created = Project.objects.get_or_create(team=team, name=project_name)
            report.say(f"{'Created' if created else 'Found'} project {project.name!r}.")
        if username:
            user = User.objects.filter(username=username).first()
            if user is None:
                if not password:
                    raise ValueError(f"User {username!r} does not exist; give --password.")
                user = User.objects.create_user(username=username, password=password)
                report.say(f"Created user {username!r}.")
            else:
                report.say(f"Found user {username!r} (password left unchanged).")
            membership, created = Membership.objects.get_or_create(
                team=team, user=user, defaults={"role": role}
            )
            if created:
                report.say(f"Added {username!r} to {team.name!r} as {role}.")
            elif membership.role != role:
                membership.role = role
                membership.save(update_fields=["role"])
                close_sockets(member_group(team.pk, user.pk), code=RECONNECT)
                report.say(f"Changed {username!r}'s role in {team.name!r} to {role}.")
            else:
                report.say(f"{username!r} is already {role} of {team.name!r}.")
        # PiAPI first: the admin's order is the order jobs try keys in.
        for provider, secret in (("piapi", piapi_key), ("legnext", legnext_key)):
            if secret:
                _provision_key(team, provider, secret, report)
    return report


def _provision_key(team: Team, provider: str, secret: str, report: ProvisionReport) -> None:
    label = provider_class(provider).label
    stored = team.provider_keys.filter(provider=provider)
    if any(key.reveal() == secret for key in stored):
        report.say(f"The {label} key …{secret[-4:]} is already stored.")
        return
    key = ProviderKey(team=team, provider=provider, label=label, position=_next_position(team))
    key.set_key(secret)
    key.save()
    report.say(f"Stored the {label} key …{key.last4} (encrypted).")


# --- the team's settings ----------------------------------------------------------------


def team_update(*, team: Team, actor: User, name: str, default_mode: str) -> None:
    """Rename the team and set the composer's default mode; each change is audited."""
    with transaction.atomic():
        old_name, old_mode = team.name, team.default_mode
        team.name, team.default_mode = name, default_mode
        team.save(update_fields=["name", "default_mode"])
        if old_name != name:
            audit.record(
                team=team,
                actor=actor,
                action="team.renamed",
                target=name,
                changes={"name": (old_name, name)},
            )
        if old_mode != default_mode:
            audit.record(
                team=team,
                actor=actor,
                action="team.settings_changed",
                target=name,
                changes={"default_mode": (old_mode, default_mode)},
            )


# --- provider keys ----------------------------------------------------------------------


def _next_position(team: Team) -> int:
    highest = team.provider_keys.aggregate(highest=Max("position"))["highest"]
    return 0 if highest is None else highest + 1


def provider_key_add(
    *,
    team: Team,
    actor: User,
    label: str,
    raw_key: str,
    provider: str = "piapi",
    base_url: str = "",
) -> ProviderKey:
    """Store a new key, encrypted, after the team's other keys (so the first key a team
    adds is its default). `provider` is the protocol it speaks; `base_url` its service's
    address when not the protocol's own (a GoAPI key speaks PiAPI's protocol)."""
    with transaction.atomic():
        key = ProviderKey(
            team=team,
            label=label,
            provider=provider,
            base_url=base_url,
            position=_next_position(team),
        )
        key.set_key(raw_key)
        key.save()
        changes: dict[str, tuple[str | None, str | None]] = {
            "label": (None, label),
            "provider": (None, key.provider_label),
        }
        if base_url:
            changes["base_url"] = (None, base_url)
        audit.record(
            team=team, actor=actor, action="key.added", target=key.described, changes=changes
        )
    return key


def provider_key_rotate(*, key: ProviderKey, actor: User, raw_key: str) -> None:
    """Replace the key's secret; its label and place in the order stay. What the old
    secret's test said no longer holds, so it is cleared."""
    with transaction.atomic():
        old_last4 = key.last4
        key.set_key(raw_key)
        key.rotated_at = timezone.now()
        key.forget_test()
        key.save()
        audit.record(
            team=key.team,
            actor=actor,
            action="key.rotated",
            target=f"{key.label} …{old_last4}",
            changes={"last4": (old_last4, key.last4)},
        )


def provider_key_set_active(*, key: ProviderKey, actor: User, active: bool) -> None:
    if key.is_active == active:
        return
    with transaction.atomic():
        key.is_active = active
        key.save(update_fields=["is_active"])
        audit.record(
            team=key.team,
            actor=actor,
            action="key.enabled" if active else "key.disabled",
            target=key.described,
            changes={"is_active": (not active, active)},
        )


def provider_key_delete(*, key: ProviderKey, actor: User) -> None:
    with transaction.atomic():
        audit.record(
            team=key.team,
            actor=actor,
            action="key.deleted",
            target=key.described,
            changes={"label": (key.label, None)},
        )
        key.delete()


class Direction(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    FIRST = "first"


def provider_key_move(*, key: ProviderKey, actor: User, direction: str) -> None:
    """Move a key up, down or to the top of the team's order; jobs use the first active
    key and fail over down the list. Positions are renumbered 0, 1, 2… every time."""
    with transaction.atomic():
        keys = list(
            ProviderKey.objects.select_for_update().filter(team=key.team).order_by("position", "pk")
        )
        old = next(index for index, each in enumerate(keys) if each.pk == key.pk)
        if direction == Direction.FIRST:
            new = 0
        elif direction == Direction.UP:
            new = max(old - 1, 0)
        else:
            new = min(old + 1, len(keys) - 1)
        if new == old:
            return
        keys.insert(new, keys.pop(old))
        for position, each in enumerate(keys):
            if each.position != position:
                each.position = position
                each.save(update_fields=["position"])
        audit.record(
            team=key.team,
            actor=actor,
            action="key.reordered",
            target=key.described,
            changes={"position": (old + 1, new + 1)},
        )


def provider_key_test_request(*, key: ProviderKey, actor: User) -> None:
    """Ask, in the background, whether the provider accepts the key (a request never
    waits on the provider); the key's row shows "Testing…" until the answer is stored."""
    from studio.accounts import tasks

    with transaction.atomic():
        key.test_requested_at = timezone.now()
        key.save(update_fields=["test_requested_at"])
        key_id, actor_id = key.pk, actor.pk
        transaction.on_commit(lambda: tasks.check_provider_key.enqueue(key_id, actor_id))


def provider_key_test(*, key_id: int, actor_id: int | None) -> None:
    """Ask the provider for the key's account and store what it said on the key: its
    plan and credits, or its refusal. Run by the `check_provider_key` task."""
    key = ProviderKey.objects.select_related("team").filter(pk=key_id).first()
    if key is None:
        return  # deleted while the test waited
    stored_secret = key.encrypted_key
    try:
        secret = key.reveal()
    except DecryptionError as error:
        ok, message = False, str(error)
    else:
        try:
            info = provider_class(key.provider)(
                api_key=secret, base_url=key.base_url
            ).account_info()
        except ProviderError as error:
            ok, message = False, error.message or "The provider refused the key."
        else:
            ok, message = True, info.summary
        # Whatever the provider echoes back, the key itself is never stored or shown.
        message = message.replace(secret, f"…{key.last4}")
    message = message[:300]
    with transaction.atomic():
        # Only for the secret that was tested: a rotation meanwhile made this moot.
        stored = ProviderKey.objects.filter(pk=key.pk, encrypted_key=stored_secret).update(
            last_tested_at=timezone.now(), last_test_ok=ok, last_test_message=message
        )
        if stored:
            audit.record(
                team=key.team,
                actor=User.objects.filter(pk=actor_id).first() if actor_id else None,
                action="key.tested",
                target=key.described,
                changes={"result": (key.last_test_message or None, message)},
            )


# --- members ----------------------------------------------------------------------------


class LastAdminError(Exception):
    """The change would leave the team without an admin."""


def _is_last_admin(membership: Membership) -> bool:
    # Locks the team's admin rows, so two admins demoting each other cannot both win.
    admins = list(
        Membership.objects.select_for_update()
        .filter(team_id=membership.team_id, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    return admins == [membership.pk]


def member_role_change(*, membership: Membership, actor: User, role: str) -> None:
    """Give a member another role; refused (LastAdminError) if it would leave the team
    without an admin. Their open sockets on the team's projects reconnect, with the new
    role."""
    with transaction.atomic():
        membership = Membership.objects.select_related("user", "team").get(pk=membership.pk)
        if membership.role == role:
            return
        if membership.role == Role.ADMIN and _is_last_admin(membership):
            raise LastAdminError(LAST_ADMIN_MESSAGE)
        old_role = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit.record(
            team=membership.team,
            actor=actor,
            action="member.role_changed",
            target=membership.user.display_name,
            changes={"role": (old_role, role)},
        )
        close_sockets(member_group(membership.team_id, membership.user_id), code=RECONNECT)


def member_remove(*, membership: Membership, actor: User) -> None:
    """Take someone out of the team (their account stays); refused (LastAdminError) for
    the last admin. Their open sockets on the team's projects close at once."""
    with transaction.atomic():
        membership = Membership.objects.select_related("user", "team").get(pk=membership.pk)
        if membership.role == Role.ADMIN and _is_last_admin(membership):
            raise LastAdminError(LAST_ADMIN_MESSAGE)
        audit.record(
            team=membership.team,
            actor=actor,
            action="member.removed",
            target=membership.user.display_name,
            changes={"role": (membership.role, None)},
        )
        membership.delete()
        close_sockets(member_group(membership.team_id, membership.user_id), code=ACCESS_ENDED)


def member_create(
    *,
    team: Team,
    actor: User,
    username: str,
    password: str,
    role: str,
    name: str = "",
    email: str = "",
) -> Membership:
    """A new account, made by an admin, in the team with the given role."""
    first, _, last = name.strip().partition(" ")
    with transaction.atomic():
        user = User.objects.create_user(
            username=username,
            password=password,
            email=email,
            first_name=first,
            last_name=last.strip(),
        )
        membership = Membership.objects.create(team=team, user=user, role=role)
        audit.record(
            team=team,
            actor=actor,
            action="member.created",
            target=user.display_name,
            changes={"username": (None, username), "email": (None, email), "role": (None, role)}
            if email
            else {"username": (None, username), "role": (None, role)},
        )
    return membership


# --- invites ----------------------------------------------------------------------------


def invite_create(*, team: Team, actor: User, role: str, days: int) -> Invite:
    """A single-use link to join the team in `role`, valid for `days`."""
    with transaction.atomic():
        invite = Invite.objects.create(
            team=team,
            role=role,
            created_by=actor,
            expires_at=timezone.now() + datetime.timedelta(days=days),
        )
        audit.record(
            team=team,
            actor=actor,
            action="invite.created",
            target=f"a new {invite.get_role_display().lower()}",
            changes={"role": (None, role), "expires_at": (None, invite.expires_at)},
        )
    return invite


def invite_revoke(*, invite: Invite, actor: User) -> bool:
    """Close an open invite; False if it was used or revoked meanwhile."""
    with transaction.atomic():
        now = timezone.now()
        revoked = Invite.objects.filter(
            pk=invite.pk, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        if revoked:
            invite.revoked_at = now
            audit.record(
                team=invite.team,
                actor=actor,
                action="invite.revoked",
                target=f"a new {invite.get_role_display().lower()}",
                changes={"role": (invite.role, None)},
            )
    return bool(revoked)


class InviteClosedError(Exception):
    """The invite can no longer be used: its sentence says why."""


class MailNotSentError(Exception):
    """The mail server did not take the message: its sentence says why."""


def invite_email(*, invite: Invite, actor: User, address: str, link: str) -> None:
    """Send an open invite's link to `address` and write it to the audit log. Raises
    InviteClosedError if the invite was used, revoked or expired, and MailNotSentError
    if the mail server refused or did not answer; then nothing is logged."""
    state = invite.state
    if state != "open":
        raise InviteClosedError(
            f"This invite was {state.label.lower()} meanwhile, so it was not sent; "
            "create a new link."
        )
    context = {"invite": invite, "team": invite.team, "actor": actor, "link": link}
    subject = render_to_string("accounts/email/invite_subject.txt", context)
    body = render_to_string("accounts/email/invite_body.txt", context)
    try:
        send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [address])
    except OSError as problem:  # smtplib's errors, refused and timed-out connections
        raise MailNotSentError(
            f"The mail server did not take it ({problem.__class__.__name__}: {problem}). "
            "The link still works: copy it and send it yourself."
        ) from problem
    audit.record(
        team=invite.team,
        actor=actor,
        action="invite.emailed",
        target=address,
        changes={"role": (None, invite.role), "email": (None, address)},
    )


def password_reset_send(*, user_id: int, base_url: str) -> None:
    """Mail the person a link to choose a new password, built on `base_url`. Run by the
    worker (accounts.tasks.send_password_reset), so the page that asked answers at once
    and alike whether or not an account has the address; the link's token is made
    here, so no secret waits in the queue. At most one mail per
    PASSWORD_RESET_MAIL_GAP_SECONDS (a conditional UPDATE claims the turn)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email or not user.has_usable_password():
        return
    now = timezone.now()
    quiet_since = now - datetime.timedelta(seconds=settings.PASSWORD_RESET_MAIL_GAP_SECONDS)
    claimed = (
        User.objects.filter(pk=user.pk)
        .filter(
            models.Q(password_reset_mailed_at__isnull=True)
            | models.Q(password_reset_mailed_at__lte=quiet_since)
        )
        .update(password_reset_mailed_at=now)
    )
    if not claimed:
        return  # a link went out moments ago; it still works
    context = {
        "user": user,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
        "base_url": base_url,
    }
    subject = render_to_string("accounts/email/password_reset_subject.txt", context)
    body = render_to_string("accounts/email/password_reset_body.txt", context)
    send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [user.email])


class InviteOutcome(enum.StrEnum):
    JOINED = "joined"
    ALREADY_MEMBER = "already-member"
    GONE = "gone"  # used, revoked or expired before this accept could take it


class _InviteGone(Exception):
    pass


def _join(invite: Invite, user: User) -> None:
    """Inside a transaction: claim the invite, or raise _InviteGone; then join."""
    if not invite.claim(user):
        raise _InviteGone
    Membership.objects.create(team=invite.team, user=user, role=invite.role)
    audit.record(
        team=invite.team,
        actor=user,
        action="invite.accepted",
        target=user.display_name,
        changes={"role": (None, invite.role)},
    )


def invite_accept(*, invite: Invite, user: User) -> InviteOutcome:
    """Join the invite's team with its role. Single use: of two accepts racing, one
    joins and the other finds the invite gone. A member already is told so, and the
    invite stays open for someone else."""
    if Membership.objects.filter(team_id=invite.team_id, user=user).exists():
        return InviteOutcome.ALREADY_MEMBER
    try:
        with transaction.atomic():
            _join(invite, user)
    except _InviteGone:
        return InviteOutcome.GONE
    except IntegrityError:
        # Joined by another invite at the same moment; this one stays unused.
        return InviteOutcome.ALREADY_MEMBER
    return InviteOutcome.JOINED


def invite_sign_up(*, invite: Invite, username: str, password: str) -> User | None:
    """A new account that joins the invite's team; None (and no account) if the invite
    was taken, revoked or expired meanwhile."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password)
            _join(invite, user)
    except _InviteGone:
        return None
    return user
