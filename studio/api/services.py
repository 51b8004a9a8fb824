"""Personal access tokens: made, checked on every API request, limited, revoked."""

import datetime
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from studio.accounts import audit
from studio.accounts.crypto import encrypt
from studio.accounts.models import Membership, User
from studio.api import protocol
from studio.api.models import ApiTask, ApiToken, ApiTokenAddress, new_token, token_hash
from studio.billing.services import BudgetExceeded
from studio.generation import services as generation
from studio.generation.canvas import scaled_mask
from studio.generation.models import Job, ProcessMode, Status
from studio.generation.panel import Panel, refuse_unsafe_links
from studio.generation.services import FollowUpRefused, NoProviderKey
from studio.inputs.errors import InputImageError
from studio.inputs.fetch import UnsafeLink, check_public_link
from studio.inputs.models import InputImage
from studio.inputs.services import CheckedImage, input_image_check_url, input_images_saved
from studio.projects.models import Project

RATE_WINDOW = datetime.timedelta(minutes=1)
# A token's address row is touched at most this often (one write, not one per request).
ADDRESS_TOUCH_EVERY = datetime.timedelta(minutes=1)


class ApiRefusal(Exception):
    """A request the API refuses: `status` is the HTTP status, the message is for people."""

    def __init__(self, message: str, *, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class TokenRefused(Exception):
    """A token that cannot be made; the message is for people."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def token_create(
    *,
    user: User,
    project: Project,
    name: str,
    expires_at: datetime.datetime | None = None,
    actor: User | None = None,
) -> NewToken:
    """A token for `user` in `project` (they must be a member who may generate). The
    secret is in the answer only: Studio keeps its hash. Audited."""
    membership = Membership.objects.filter(user=user, team=project.team_id).first()
    if membership is None:
        raise TokenRefused(f"{user.display_name} is not a member of {project.team.name}.")
    if not membership.can_generate:
        raise TokenRefused("Viewers cannot create API tokens: a token spends the team’s money.")
    name = name.strip()
    if not name:
        raise TokenRefused("Give the token a name, so you know later where it is used.")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenRefused("The expiry date has passed; choose a later one or none.")
    secret = new_token()
    with transaction.atomic():
        token = ApiToken.objects.create(
            team_id=project.team_id,
            user=user,
            project=project,
            name=name[:80],
            prefix=secret[:12],
            token_hash=token_hash(secret),
            expires_at=expires_at,
        )
        audit.record(
            team=project.team,
            actor=actor or user,
            action="token.created",
            target=described(token),
            changes={
                "project": (None, project.name),
                "expires_at": (None, expires_at),
                "username": (None, user.username),
            },
        )
    return NewToken(token=token, secret=secret)


def described(token: ApiToken) -> str:
    """How a token reads in the audit log: its name and first characters, never more."""
    return f"“{token.name}” ({token.prefix}…) of {token.user.display_name}"


def token_revoke(*, token: ApiToken, actor: User) -> bool:
    """Revoke `token` (at once: its next request is refused). False if it already was."""
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=actor
        )
        if revoked:
            audit.record(
                team=token.team, actor=actor, action="token.revoked", target=described(token)
            )
    token.refresh_from_db()
    return bool(revoked)


def token_set_limits(
    *, token: ApiToken, actor: User, requests_per_minute: int, max_running: int | None
) -> None:
    """An admin's limits for one token. Audited when something changed."""
    with transaction.atomic():
        before = {
            "requests_per_minute": token.requests_per_minute,
            "max_running": token.max_running,
        }
        after = {"requests_per_minute": requests_per_minute, "max_running": max_running}
        ApiToken.objects.filter(pk=token.pk).update(**after)
        audit.record_changes(
            team=token.team,
            actor=actor,
            action="token.limits_changed",
            target=described(token),
            changes=audit.changed(before, after),
        )
    token.refresh_from_db()


def token_authenticate(*, secret: str, address: str | None) -> tuple[ApiToken, Membership]:
    """The token an API request carries, counted against its rate limit, with its
    member's membership; else `ApiRefusal` (401 unknown, revoked or expired; 429 over
    the rate limit, with the seconds to wait)."""
    if not secret:
        raise ApiRefusal(
            "Send your Studio API token in the x-api-key header (create one on your account page).",
            status=401,
        )
    token = (
        ApiToken.objects.select_related("user", "project", "team")
        .filter(token_hash=token_hash(secret.strip()))
        .first()
    )
    if token is None:
        raise ApiRefusal("This API token is not valid.", status=401)
    if token.revoked_at is not None:
        raise ApiRefusal(
            f"This API token was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC.", status=401
        )
    if token.is_expired and token.expires_at is not None:
        raise ApiRefusal(
            f"This API token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC.", status=401
        )
    membership = Membership.objects.filter(user=token.user, team=token.team).first()
    if membership is None or not token.user.is_active:
        raise ApiRefusal(
            "The member this API token belongs to is no longer in the team.", status=401
        )
    _count_request(token, address)
    return token, membership


def _count_request(token: ApiToken, address: str | None) -> None:
    """One more request in the token's minute (a fixed window on the token's row, locked
    so that parallel requests count once each); the first use from an address is audited."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            ApiToken.objects.select_for_update()
            .only("window_started_at", "window_requests", "requests_per_minute")
            .get(pk=token.pk)
        )
        started = row.window_started_at
        if started is None or now - started >= RATE_WINDOW:
            started, count = now, 0
        else:
            count = row.window_requests
        if count >= row.requests_per_minute:
            wait = math.ceil((started + RATE_WINDOW - now).total_seconds())
            raise ApiRefusal(
                f"This token may make {row.requests_per_minute} requests a minute; "
                f"try again in {max(wait, 1)} s.",
                status=429,
                retry_after=max(wait, 1),
            )
        ApiToken.objects.filter(pk=token.pk).update(
            window_started_at=started,
            window_requests=count + 1,
            last_used_at=now,
            last_used_address=address,
        )
        if address:
            _seen_from(token, address, now)


def _seen_from(token: ApiToken, address: str, now: datetime.datetime) -> None:
    seen, created = ApiTokenAddress.objects.get_or_create(
        token=token, address=address, defaults={"first_seen_at": now, "last_seen_at": now}
    )
    if created:
        audit.record(
            team=token.team,
            actor=token.user,
            action="token.new_address",
            target=described(token),
            changes={"address": (None, address)},
        )
    elif now - seen.last_seen_at >= ADDRESS_TOUCH_EVERY:
        ApiTokenAddress.objects.filter(pk=seen.pk).update(last_seen_at=now)


# --- Tasks made through the API ----------------------------------------------------------


def _text(fields: Mapping[str, Any], name: str, *, limit: int = 10_000) -> str:
    value = fields.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ApiRefusal(f"input.{name} must be a string.", status=400)
    return str(value)[:limit].strip()


def _webhook(config: Mapping[str, Any]) -> tuple[str, str]:
    """The caller's `config.webhook_config`: an endpoint Studio may reach, and its secret."""
    hook = config.get("webhook_config") or {}
    if not isinstance(hook, dict):
        raise ApiRefusal("config.webhook_config must be an object.", status=400)
    endpoint = str(hook.get("endpoint") or "").strip()
    secret = str(hook.get("secret") or "")
    if not endpoint:
        return "", ""
    if len(endpoint) > 2048 or len(secret) > 512:
        raise ApiRefusal("The webhook endpoint or secret is too long.", status=400)
    if not settings.DEBUG and not endpoint.lower().startswith("https://"):
        raise ApiRefusal(
            "The webhook endpoint must use https: Studio sends your secret with every post.",
            status=400,
        )
    try:
        check_public_link(endpoint, resolve_names=False)
    except UnsafeLink as unsafe:
        raise ApiRefusal(f"The webhook endpoint cannot be used: {unsafe}", status=400) from None
    return endpoint, secret


def _mode(fields: Mapping[str, Any], membership: Membership) -> str:
    mode = _text(fields, "process_mode").lower() or membership.team.default_mode
    if mode not in ProcessMode.values:
        raise ApiRefusal(
            f"input.process_mode must be relax, fast or turbo, not “{mode}”.", status=400
        )
    return mode


def api_task_create(
    *,
    token: ApiToken,
    membership: Membership,
    task_type: str,
    fields: Mapping[str, Any],
    config: Mapping[str, Any],
) -> ApiTask:
    """A job from a PiAPI-shaped request, made through the path every job takes (its
    budget held, the team's queue, the project's feed), and its task id. Refusals are
    `ApiRefusal`s whose message is the sentence the UI shows."""
    if not membership.can_generate:
        raise ApiRefusal("Viewers can browse a project but not generate images.", status=403)
    if task_type not in protocol.TASK_TYPES:
        raise ApiRefusal(
            f"task_type “{task_type}” is not one Studio takes; use one of "
            + ", ".join(protocol.TASK_TYPES)
            + ".",
            status=400,
        )
    endpoint, secret = _webhook(config)
    project, user = token.project, token.user
    echo = dict(fields)
    try:
        if task_type == "imagine":
            make = _imagine(project, membership, fields)
        elif task_type == "describe":
            make = _describe(project, membership, fields)
        elif task_type == "blend":
            make = _blend(project, membership, fields)
        else:
            make = _follow_up(token, task_type, fields)
        checked_images = make.images
        with input_images_saved(project=project, user=user, images=checked_images) as saved:
            job = make.create(saved)
            api_task = ApiTask.objects.create(
                job=job,
                token=token,
                task_type=task_type,
                request_input=_normalised(task_type, _without_mask(echo), job),
                service_mode=str(config.get("service_mode") or ""),
                webhook_endpoint=endpoint,
                webhook_secret=encrypt(secret) if secret else "",
            )
    except BudgetExceeded as refused:
        raise ApiRefusal(str(refused), status=402) from None
    except (FollowUpRefused, InputImageError, NoProviderKey) as refused:
        raise ApiRefusal(str(refused) or "No provider key can run this task.", status=400) from None
    return api_task


def _normalised(task_type: str, fields: dict[str, Any], job: Job) -> dict[str, Any]:
    """The `input` as PiAPI echoes it: `index` a string, the mode and ratio that apply."""
    if "index" in fields:
        fields["index"] = str(fields["index"])
    if task_type in protocol.NEW_WORK:
        fields["process_mode"] = job.process_mode
    if task_type == "imagine":
        fields.setdefault("aspect_ratio", job.aspect_ratio)
        fields.setdefault("skip_prompt_check", False)
    return fields


def _without_mask(fields: dict[str, Any]) -> dict[str, Any]:
    """The echoed input, without a mask's megabytes of base64."""
    if isinstance(fields.get("mask"), str) and len(fields["mask"]) > 200:
        return {**fields, "mask": f"<{len(fields['mask'])} characters>"}
    return fields


@dataclass
class _Making:
    images: list[CheckedImage]
    create: Callable[[list[InputImage]], Job]


def _imagine(project: Project, membership: Membership, fields: Mapping[str, Any]) -> _Making:
    prompt = _text(fields, "prompt")
    if not prompt:
        raise ApiRefusal("input.prompt is required: describe the image.", status=400)
    mode = _mode(fields, membership)
    panel = Panel.read(
        prompt, {"aspect_ratio": _text(fields, "aspect_ratio") or "1:1", "mode": mode}
    )
    inputs = refuse_unsafe_links(panel, project, resolve_names=True)
    if not panel.is_valid:
        raise ApiRefusal(" ".join(panel.errors), status=400)

    def create(_saved: list[InputImage]) -> Job:
        return generation.job_submit(
            project=project,
            user=membership.user,
            prompt=panel.compiled,
            aspect_ratio=panel.aspect_ratio,
            process_mode=panel.mode,
            prompt_parameters=panel.values,
            inputs=inputs,
        )

    return _Making(images=[], create=create)


def _describe(project: Project, membership: Membership, fields: Mapping[str, Any]) -> _Making:
    url = _text(fields, "image_url", limit=4096)
    if not url:
        raise ApiRefusal("input.image_url is required: the image to describe.", status=400)
    mode = _mode(fields, membership)
    checked = input_image_check_url(url)

    def create(saved: list[InputImage]) -> Job:
        return generation.job_describe(
            project=project, user=membership.user, image=saved[0], process_mode=mode
        )

    return _Making(images=[checked], create=create)


def _blend(project: Project, membership: Membership, fields: Mapping[str, Any]) -> _Making:
    urls = fields.get("image_urls")
    if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
        raise ApiRefusal("input.image_urls must be a list of 2 to 5 image links.", status=400)
    if not 2 <= len(urls) <= 5:
        raise ApiRefusal(f"Blend takes 2 to 5 images; you sent {len(urls)}.", status=400)
    dimension = _text(fields, "dimension") or "square"
    mode = _mode(fields, membership)
    checked = [input_image_check_url(url) for url in urls]

    def create(saved: list[InputImage]) -> Job:
        return generation.job_blend(
            project=project,
            user=membership.user,
            images=saved,
            dimension=dimension,
            process_mode=mode,
        )

    return _Making(images=checked, create=create)


def api_task_for(token: ApiToken, task_id: str) -> ApiTask:
    """The task `task_id` as `token` may see it: 404 if there is none in its team, 403 if
    it belongs to another project than the token's."""
    try:
        parsed = uuid.UUID(str(task_id))
    except ValueError:
        raise ApiRefusal(f"No task with id “{task_id}”.", status=404) from None
    api_task = (
        ApiTask.objects.select_related("job__project", "token")
        .filter(task_id=parsed, job__project__team=token.team_id)
        .first()
    )
    if api_task is None:
        raise ApiRefusal(f"No task with id “{task_id}”.", status=404)
    if api_task.job.project_id != token.project_id:
        raise ApiRefusal(
            f"Task {task_id} belongs to another project than this token’s ({token.project.name}).",
            status=403,
        )
    return api_task


def _follow_up(token: ApiToken, task_type: str, fields: Mapping[str, Any]) -> _Making:
    origin = _text(fields, "origin_task_id")
    if not origin:
        raise ApiRefusal(f"input.origin_task_id is required for {task_type}.", status=400)
    parent = api_task_for(token, origin).job
    user = token.user
    if task_type == "seed":
        return _Making(
            images=[], create=lambda _saved: generation.job_seed(parent=parent, user=user)
        )
    if parent.status != Status.COMPLETED:
        raise ApiRefusal("The origin task has not completed yet; wait for its result.", status=400)
    offered = protocol.offered_actions(parent)
    wanted = protocol.requested_action_name(task_type, fields)
    zoom = ""
    acting, action = offered.get(wanted) or (parent, None)
    if action is None and task_type == "outpaint":
        # A zoom other than 1.5× or 2×, where the result takes a custom zoom.
        custom = [a for a in parent.actions if a.operation == "outpaint" and a.needs == "zoom"]
        if custom:
            action, zoom = custom[0], protocol.zoom_text(fields.get("zoom_ratio"))
    if action is None:
        listed = ", ".join(offered) or "nothing"
        raise ApiRefusal(
            f"{task_type} “{wanted}” is not offered for task {origin}; it offers: {listed}.",
            status=400,
        )
    prompt = _text(fields, "prompt")
    mask = _text(fields, "mask", limit=50_000_000)
    if mask and acting is not parent:
        mask = _mask_for(acting, action, mask)
    name = action.name

    def create(_saved: list[InputImage]) -> Job:
        return generation.job_follow_up(
            parent=acting, user=user, action_name=name, prompt=prompt, mask=mask, zoom=zoom
        )

    return _Making(images=[], create=create)


def _mask_for(grid: Job, action: Any, mask: str) -> str:
    """A mask drawn on an upscale, for the grid image the upscale was made from (where
    the region is repainted): scaled to that image's size."""
    image = grid.quadrant_image(action.image) if action.image else None
    if image is None:
        return mask
    try:
        return scaled_mask(mask, (image.width, image.height))
    except ValueError:
        raise ApiRefusal("input.mask is not a base64 PNG.", status=400) from None


def api_task_cancel(*, api_task: ApiTask, membership: Membership) -> None:
    """Cancel the task's job, as its card's Cancel does (the same refusals)."""
    job = api_task.job
    if not job.may_be_canceled_by(membership):
        raise ApiRefusal("Only its creator or an admin can cancel this task.", status=403)
    try:
        generation.job_cancel(job=job)
    except FollowUpRefused as refused:
        raise ApiRefusal(str(refused), status=400) from None
