import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, push_url, reswap, retarget

from studio.accounts.models import AuthenticatedRequest, Membership, Role
from studio.billing import live as billing_live
from studio.billing import services as billing
from studio.generation import files, image_offers, live, prompting, services, tasks
from studio.generation.feed import STATE_CHOICES, FeedFilterForm, FeedFilters, operations_used
from studio.generation.forms import QUALITIES, VERSIONS, BlendForm, DescribeForm, ImagineForm
from studio.generation.image_work import job_from_image as image_work_job
from studio.generation.models import Job, Operation, ProcessMode, ResultImage, WebhookDelivery
from studio.generation.panel import Panel, refuse_unsafe_links
from studio.generation.search import Cursor, team_members
from studio.generation.tree import family_of
from studio.inputs.errors import InputImageError
from studio.inputs.models import InputImage
from studio.inputs.references import inputs_linked, references_check, shown_link
from studio.inputs.services import (
    CheckedImage,
    input_image_check_result,
    input_image_check_upload,
    input_image_check_url,
    input_image_from_result,
    input_images_saved,
)
from studio.projects.access import project_for_generating, project_for_user
from studio.projects.models import Project
from studio.providers import Provider, provider_class

PAGE = "generation/project.html"
JOB_PAGE = "generation/job.html"
BLEND_CHOICES = 12
FEED_TARGETS = {"feed-results", "job-list"}  # what the feed's own requests swap


def refusal(request: HttpRequest, message: str, status: int = 422) -> HttpResponse:
    """A refused action: the reason shows in the page's notice area."""
    response = render(request, "notice.html", {"message": message}, status=status)
    return reswap(retarget(response, "#notice"), "innerHTML")


def job_for_user(user: Any, job_id: int) -> tuple[Job, Membership]:
    """The job and the user's membership of its team, or 404 for outsiders."""
    job = get_object_or_404(
        Job.objects.select_related("created_by", "parent", "project__team"), pk=job_id
    )
    _, membership = project_for_user(user, job.project_id)
    return job, membership


@dataclass(frozen=True)
class ProviderOption:
    """A provider as the composer shows it (a template would call a class)."""

    name: str
    label: str
    modes: tuple[str, ...]
    new_work: tuple[str, ...]

    @classmethod
    def of(cls, api: type[Provider], *, turbo: bool = True) -> "ProviderOption":
        """The provider as offered to a member; without Turbo rights (`turbo`) its Turbo
        mode is not offered at all, rather than refused after Generate."""
        modes = tuple(mode for mode in api.modes if turbo or mode != ProcessMode.TURBO)
        return cls(api.name, api.label, modes, api.new_work)


def chosen_provider(project: Project, wanted: str) -> tuple[list[type[Provider]], type[Provider]]:
    """The team's providers, and the one the composer sends the next job to: the one
    picked if the team has it, else its first key's."""
    providers = services.providers_of(project.team)
    picked = next((api for api in providers if api.name == wanted), None)
    return providers, picked or (providers[0] if providers else provider_class(""))


def mode_offered(panel: Panel, api: type[Provider]) -> None:
    """A mode the provider does not run is an error in the panel, never quietly another
    mode (a --relax typed for LegNext, say)."""
    if panel.mode not in api.modes:
        panel.errors.append(services.no_such_mode([api], panel.mode))


# The composer's reference fields, as a link to "use as" names them.
REFERENCE_FIELDS = ("image_prompts", "style_refs", "character_refs")
RECENT_PROMPTS = 20


@dataclass(frozen=True)
class ReferenceThumb:
    """A reference link as the composer shows it: the project's own input image as a
    thumbnail, any other link by its host."""

    url: str
    thumb: str
    shown: str


def reference_thumbs(project: Project, panel: Panel) -> dict[str, list[ReferenceThumb]]:
    links = [url for _label, url in prompting.reference_links(panel.parameters)]
    own = inputs_linked(project=project, urls=links)
    return {
        name: [
            ReferenceThumb(url, own[url].thumbnail_path() if url in own else "", shown_link(url))
            for url in getattr(panel.parameters, name)
        ]
        for name in REFERENCE_FIELDS
    }


def composer_context(
    project: Project, membership: Membership, *, provider: str = "", **extra: Any
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "project": project,
        "membership": membership,
        "cancel_scope": cancel_scope(membership),
    }
    if membership.can_generate:
        providers, api = chosen_provider(project, provider)
        turbo = project.team.may_use_turbo(membership.role)
        chosen = ProviderOption.of(api, turbo=turbo)
        context.update(
            providers=[ProviderOption.of(each, turbo=turbo) for each in providers],
            provider=chosen,
            modes=[(value, label, value in chosen.modes) for value, label in ProcessMode.choices],
            shorten_offered="shorten" in api.new_work,
            shorten_anywhere=any("shorten" in each.new_work for each in providers),
            versions=VERSIONS,
            prompt_limit=settings.PROMPT_MAX_LENGTH,
            qualities=QUALITIES,
            form=ImagineForm(),
            panel=Panel.read("", {"mode": project.team.default_mode}),
            describe_form=DescribeForm(),
            blend_form=BlendForm(),
            blend_choices=ResultImage.objects.filter(
                project=project, index=ResultImage.GRID
            ).order_by("-created_at")[:BLEND_CHOICES],
            upload_work=image_offers.upload_offers(project, image_offers.Pricing.of(project)),
        )
    context.update(extra)
    context["meters"] = billing_live.meters_html(team=project.team, user=membership.user)
    if membership.can_generate:
        context.update(composer_prices(membership, context["panel"], providers, api))
        context["references"] = reference_thumbs(project, context["panel"])
        context["recent_prompts"] = Job.objects.for_project(project).recent_prompts(
            user=membership.user, limit=RECENT_PROMPTS
        )
    return context


def composer_start(project: Project, membership: Membership, **extra: Any) -> dict[str, Any]:
    """The composer as a page opens it: in the team's default mode, unless the first
    provider does not run it; then in Fast, and the page says so."""
    context = composer_context(project, membership, **extra)
    chosen, panel = context.get("provider"), context.get("panel")
    if chosen is not None and panel is not None and panel.mode not in chosen.modes:
        providers, api = chosen_provider(project, chosen.name)
        if "mode" not in panel.from_prompt:
            was = ProcessMode(panel.mode).label
            context["panel"] = Panel.read(panel.text, {**panel.values, "mode": ProcessMode.FAST})
            if panel.mode in api.modes:  # the provider has it, the member may not use it
                context["mode_note"] = (
                    f"Turbo is not open to you in this team: switched to {ProcessMode.FAST.label}."
                )
            else:
                context["mode_note"] = f"{api.label} has no {was} mode: switched to Fast."
        else:
            mode_offered(panel, api)
        context.update(composer_prices(membership, context["panel"], providers, api))
    return context


def composer_prices(
    membership: Membership, panel: Panel, providers: list[type[Provider]], api: type[Provider]
) -> dict[str, Any]:
    """What the composer's buttons cost at the provider the next job goes to (`api`),
    and whether the member's and the team's budgets allow Generate now (`outlook`).
    Describe's and Blend's price lines hold every provider's prices, the chosen one's
    shown, so that picking another provider shows its prices at once. A mode or an
    operation a provider does not run has no price; submitting it says why."""
    table = billing.price_table(membership.team_id)

    def quote(at: type[Provider], operation: str, mode: str, *, draft: bool = False) -> str:
        if operation not in at.new_work or mode not in at.modes:
            return ""
        price = billing.table_price(
            table, provider=at.name, mode=mode, operation=operation, draft=draft
        )
        return billing.dollars(price)

    turbo = membership.team.may_use_turbo(membership.role)

    def price_line(operation: str) -> list[tuple[str, str, str, str, bool]]:
        return [
            (each.name, mode, str(label), price, each is api)
            for each in providers or [api]
            for mode, label in ProcessMode.choices
            if (turbo or mode != ProcessMode.TURBO) and (price := quote(each, operation, mode))
        ]

    shortens = services.first_provider_for(
        [api, *providers], operation=Operation.SHORTEN, mode=ProcessMode.FAST
    )
    outlook = billing.Outlook()
    if panel.mode in api.modes:
        price = billing.table_price(
            table,
            provider=api.name,
            mode=panel.mode,
            operation=Operation.IMAGINE,
            draft=panel.parameters.draft,
        )
        outlook = billing.job_outlook(
            membership=membership, mode=panel.mode, price=price, modes=api.modes
        )
    return {
        "outlook": outlook,
        "generate_cost": quote(api, Operation.IMAGINE, panel.mode, draft=panel.parameters.draft),
        "describe_prices": price_line(Operation.DESCRIBE),
        "blend_prices": price_line(Operation.BLEND),
        "shorten_cost": quote(shortens, Operation.SHORTEN, ProcessMode.FAST) if shortens else "",
    }


def feed_context(
    request: AuthenticatedRequest, project: Project, filters: FeedFilters
) -> dict[str, Any]:
    """A page of the project's feed: the jobs, where the next page is and what the page's
    script needs to know of the filters (to keep new jobs that don't match out)."""
    after = Cursor.parse(request.GET.get("after", ""))
    page = live.feed_page(project.pk, filters=filters, after=after)
    feed_url = reverse("generation:project", args=[project.pk]) + filters.query_string()
    more_url = ""
    if page.next_cursor is not None:
        separator = "&" if "?" in feed_url else "?"
        more_url = f"{feed_url}{separator}after={page.next_cursor.token}"
    return {
        "jobs": page.jobs,
        "filters": filters,
        "feed_url": feed_url,
        "more_url": more_url,
        "first_page": after is None,
    }


def feed_request(request: AuthenticatedRequest) -> bool:
    """An HTMX request of the feed's own (a search, the next page) wants a fragment; a
    history restore (the back button) a whole page."""
    htmx = request.htmx
    return bool(htmx) and not htmx.history_restore_request and htmx.target in FEED_TARGETS


@require_GET
@login_required
@vary_on_headers("HX-Request", "HX-Target")
def project_detail(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project, membership = project_for_user(request.user, project_id)
    feed = feed_context(request, project, FeedFilterForm(request.GET).filters())
    if feed_request(request) and not feed["first_page"]:
        return render(request, f"{PAGE}#feed-page", {**feed, "project": project})
    if feed_request(request):
        # The filters' canonical URL (no empty fields), whatever the form sent.
        response = render(
            request, f"{PAGE}#feed-results", {**feed, "project": project, "partial": True}
        )
        return push_url(response, feed["feed_url"])
    feed.update(
        feed_members=team_members(project),
        feed_operations=operations_used(project.pk, feed["filters"]),
        feed_modes=ProcessMode.choices,
        feed_states=STATE_CHOICES,
    )
    extra = composer_from_link(request, project) if membership.can_generate else {}
    context = composer_start(project, membership, **feed, **extra)
    return render(request, PAGE, context)


def composer_from_link(request: AuthenticatedRequest, project: Project) -> dict[str, Any]:
    """The composer as a link asks it to start (from a page without a composer): with a
    prompt ("Imagine this"), a seed, or a result of the project used as an image prompt,
    --sref or --cref (`use_as` and `image`, copied into the project's inputs, as the
    composer's own "use as" does)."""
    query = request.GET
    if not any(name in query for name in ("prompt", "seed", "use_as")):
        return {}
    prompt = query.get("prompt", "")  # past the limit it is said, not cut
    data = {"mode": project.team.default_mode, "seed": query.get("seed", "")}
    extra: dict[str, Any] = {}
    role = query.get("use_as", "")
    if role in REFERENCE_FIELDS:
        image_id = query.get("image", "")
        try:
            # Idempotent: the same result gives back the same input image.
            image = input_image_from_result(
                project=project,
                user=request.user,
                result_id=int(image_id) if image_id.isascii() and image_id.isdigit() else 0,
            )
        except InputImageError as refused:
            extra["mode_note"] = refused.message  # the line above the composer
        else:
            data[role] = image.public_url()
    return {
        **extra,
        "form": ImagineForm(initial={"prompt": prompt}),
        "panel": Panel.read(prompt, data),
    }


@require_POST
@login_required
def prompt_preview(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    """The parameter panel as the server reads the prompt and the panel together, so
    that inline flags and fields always agree (there is no second parser in JS)."""
    project, membership = project_for_generating(request.user, project_id)
    panel = Panel.read(request.POST.get("prompt", ""), request.POST)
    provider = request.POST.get("provider", "")
    if provider:
        mode_offered(panel, chosen_provider(project, provider)[1])
    # Per keystroke: no host name is looked up here, job_create does that.
    refuse_unsafe_links(panel, project, resolve_names=False)
    context = composer_context(project, membership, panel=panel, provider=provider)
    return render(request, f"{PAGE}#prompt-controls", context)


@require_POST
@login_required
def job_create(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project, membership = project_for_generating(request.user, project_id)
    form = ImagineForm(request.POST)
    panel = Panel.read(request.POST.get("prompt", ""), request.POST)
    provider = request.POST.get("provider", "")
    if form.is_valid() and provider:
        # Picked in the composer: its modes only (without a pick, new work goes to the
        # first of the team's providers that runs the mode).
        mode_offered(panel, chosen_provider(project, provider)[1])
    inputs = refuse_unsafe_links(panel, project, resolve_names=True) if form.is_valid() else []
    if form.is_valid() and panel.is_valid:
        try:
            job = services.job_submit(
                project=project,
                user=request.user,
                prompt=panel.compiled,
                aspect_ratio=panel.aspect_ratio,
                process_mode=panel.mode,
                prompt_parameters=panel.values,
                inputs=inputs,
                provider=provider,
            )
        except (services.FollowUpRefused, billing.BudgetExceeded) as refused:
            form.add_error(None, str(refused))
    if not form.is_valid() or not panel.is_valid:
        context = composer_context(project, membership, form=form, panel=panel, provider=provider)
        return render(request, f"{PAGE}#prompt-form", context, status=422)
    # A fresh form keeps the panel (ratio, mode, parameters, inline flags folded into the
    # fields); the new card lands on top.
    context = composer_context(
        project, membership, panel=Panel.read("", panel.values), provider=provider
    )
    response = render(request, f"{PAGE}#prompt-form", context, status=201)
    response.write(live.job_card_upsert_html(job))
    return response


@require_POST
@login_required
def job_follow_up(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """U1–U4, V1–V4, reroll, pan, zoom out, vary region… as a child of the job."""
    job, _ = job_for_user(request.user, job_id)
    project_for_generating(request.user, job.project_id)
    prompt = request.POST.get("prompt", "")
    # The remix prompt goes to the provider as typed; without one, the parent's is reused.
    links = prompting.reference_links_in(prompt.strip() or job.prompt)
    references = references_check(project=job.project, links=links)
    if not references.is_valid:
        return refusal(request, " ".join(references.problems))
    try:
        child = services.job_follow_up(
            parent=job,
            user=request.user,
            action_name=request.POST.get("action", ""),
            prompt=prompt,
            mask=request.POST.get("mask", ""),
            zoom=request.POST.get("zoom", ""),
            # The provider may fetch the parent's images again (a reroll of a blend).
            inputs=[*job.inputs.all(), *references.inputs],
        )
    except (services.FollowUpRefused, billing.BudgetExceeded) as refused:
        return refusal(request, str(refused))
    if request.POST.get("open"):
        # From the Vary Region editor: go and watch the new job.
        return HttpResponseClientRedirect(reverse("generation:job", args=[child.pk]))
    return created(request, child)


def created(request: AuthenticatedRequest, job: Job) -> HttpResponse:
    """The answer to any request that made a job: its card, upserted at the top."""
    if not request.htmx:
        return JsonResponse({"job": job.pk, "url": f"/jobs/{job.pk}/"}, status=201)
    return HttpResponse(live.job_card_upsert_html(job), status=201)


@require_POST
@login_required
def job_seed(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    job, _ = job_for_user(request.user, job_id)
    project_for_generating(request.user, job.project_id)
    try:
        child = services.job_seed(parent=job, user=request.user)
    except (services.FollowUpRefused, billing.BudgetExceeded) as refused:
        return refusal(request, str(refused))
    return created(request, child)


@require_POST
@login_required
def job_retry(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    """Run a failed or canceled job again: a new job, its card on top."""
    job, _ = job_for_user(request.user, job_id)
    project_for_generating(request.user, job.project_id)
    try:
        retried = services.job_retry(job=job, user=request.user)
    except (services.FollowUpRefused, billing.BudgetExceeded) as refused:
        return refusal(request, str(refused))
    return created(request, retried)


@require_POST
@login_required
def job_cancel(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    job, membership = job_for_user(request.user, job_id)
    if not job.may_be_canceled_by(membership):
        return refusal(request, cancel_refused(job, membership), status=403)
    try:
        services.job_cancel(job=job)
    except services.FollowUpRefused as refused:
        return refusal(request, str(refused))
    job.refresh_from_db()
    return render(request, f"{PAGE}#job-card", {"job": job}, status=202)


def cancel_refused(job: Job, membership: Membership) -> str:
    if not membership.can_generate:
        return "Viewers can browse a project but not cancel jobs."
    return (
        f"Only {job.created_by.display_name}, who started this job, or a team admin can cancel it."
    )


def cancel_scope(membership: Membership) -> str:
    """Whose jobs the person may cancel: "any", "own" or "none" (the rule is
    Job.may_be_canceled_by). Job cards are the same for everyone, since they are pushed
    to the whole project, so the page carries this and hides the other Cancel buttons;
    job_cancel refuses them anyway."""
    if membership.role == Role.ADMIN:
        return "any"
    return "own" if membership.can_generate else "none"


@require_POST
@login_required
def job_retry_results(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    job, _ = job_for_user(request.user, job_id)
    project_for_generating(request.user, job.project_id)
    try:
        services.job_retry_results(job=job)
    except services.FollowUpRefused as refused:
        return refusal(request, str(refused))
    return HttpResponse(status=204)


@require_POST
@login_required
def describe(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project, membership = project_for_generating(request.user, project_id)
    form = DescribeForm(request.POST, request.FILES)
    provider = request.POST.get("provider", "")
    if form.is_valid():
        try:
            if form.cleaned_data["image"]:
                checked = input_image_check_upload(form.cleaned_data["image"])
            else:
                checked = input_image_check_url(form.cleaned_data["url"])
            # The image is stored with its job, or (over budget) not at all.
            with input_images_saved(project=project, user=request.user, images=[checked]) as saved:
                job = services.job_describe(
                    project=project,
                    user=request.user,
                    image=saved[0],
                    process_mode=form.cleaned_data["mode"],
                    provider=provider,
                )
        except (InputImageError, services.FollowUpRefused, billing.BudgetExceeded) as refused:
            form.add_error(None, str(refused))
        else:
            context = composer_context(project, membership, provider=provider)
            response = render(request, f"{PAGE}#describe-form", context, status=201)
            response.write(live.job_card_upsert_html(job))
            return response
    context = composer_context(project, membership, describe_form=form, provider=provider)
    return render(request, f"{PAGE}#describe-form", context, status=422)


@require_POST
@login_required
def shorten(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    """Shorten the composer's prompt (a provider that offers it): a job whose card shows
    the shorter prompt and the words that matter, with "Use this prompt"."""
    project, _ = project_for_generating(request.user, project_id)
    try:
        job = services.job_shorten(
            project=project,
            user=request.user,
            prompt=request.POST.get("prompt", ""),
            provider=request.POST.get("provider", ""),
        )
    except (services.FollowUpRefused, billing.BudgetExceeded) as refused:
        return refusal(request, str(refused))
    return created(request, job)


@require_POST
@login_required
def blend(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project, membership = project_for_generating(request.user, project_id)
    form = BlendForm(request.POST)
    provider = request.POST.get("provider", "")
    if form.is_valid():
        try:
            checked = blend_inputs(request, project)
            # The images are stored with their job, or (over budget) not at all.
            with input_images_saved(project=project, user=request.user, images=checked) as images:
                job = services.job_blend(
                    project=project,
                    user=request.user,
                    images=images,
                    dimension=form.cleaned_data["dimension"],
                    process_mode=form.cleaned_data["mode"],
                    provider=provider,
                )
        except (InputImageError, services.FollowUpRefused, billing.BudgetExceeded) as refused:
            form.add_error(None, str(refused))
        else:
            context = composer_context(project, membership, provider=provider)
            response = render(request, f"{PAGE}#blend-form", context, status=201)
            response.write(live.job_card_upsert_html(job))
            return response
    context = composer_context(project, membership, blend_form=form, provider=provider)
    return render(request, f"{PAGE}#blend-form", context, status=422)


def blend_inputs(request: AuthenticatedRequest, project: Project) -> list[CheckedImage]:
    """Uploaded files, then chosen results of the project, in order: all checked, none
    stored. Raises `FollowUpRefused` or `InputImageError` saying why not."""
    uploads = request.FILES.getlist("images")
    chosen = request.POST.getlist("results")
    count = len(uploads) + len(chosen)
    if not 2 <= count <= 5:
        raise services.FollowUpRefused(f"Blend takes 2 to 5 images; you picked {count}.")
    result_ids = [int(pk) for pk in chosen if pk.isascii() and pk.isdigit()]
    results = ResultImage.objects.filter(pk__in=result_ids, job__project=project).in_bulk()
    if len(result_ids) != len(chosen) or not set(result_ids) <= results.keys():
        raise services.FollowUpRefused("One of the chosen results is not in this project.")
    images = [input_image_check_upload(upload) for upload in uploads]
    images += [input_image_check_result(results[result_id]) for result_id in result_ids]
    return images


@require_GET
@login_required
@vary_on_headers("HX-Request")
def job_detail(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    job, membership = job_for_user(request.user, job_id)
    if request.htmx:
        return render(request, f"{PAGE}#job-card", {"job": job})
    family = family_of(job)
    return render(
        request,
        JOB_PAGE,
        {
            "job": job,
            "project": job.project,
            "membership": membership,
            "family": family,
            "cancel_scope": cancel_scope(membership),
        },
    )


@require_GET
@login_required
def region_editor(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    job, membership = job_for_user(request.user, job_id)
    project_for_generating(request.user, job.project_id)
    wanted = request.GET.get("action", "")
    regions = [a for a in job.actions if a.needs_editor and not a.unavailable]
    action = next((a for a in regions if a.name == wanted), regions[0] if regions else None)
    image = None
    if action is not None:
        image = job.grid_image if action.image is None else job.quadrant_image(action.image)
    if action is None or image is None:
        raise Http404("Vary (Region) is not offered for this result.")
    return render(
        request,
        "generation/region.html",
        {
            "job": job,
            "project": job.project,
            "membership": membership,
            "image": image,
            "action": action,
        },
    )


def result_for_user(user: Any, image_id: int) -> ResultImage:
    """A result (still or clip) of a project the user is in, or 404."""
    image = get_object_or_404(ResultImage.objects.select_related("job"), pk=image_id)
    project_for_user(user, image.job.project_id)
    return image


@require_GET
@login_required
@cache_control(private=True, max_age=31_536_000, immutable=True)
def result_image(request: AuthenticatedRequest, image_id: int, variant: str) -> FileResponse:
    image = result_for_user(request.user, image_id)
    if variant == "thumb":
        return FileResponse(image.thumbnail.open("rb"))
    return files.full_response(image, download="download" in request.GET)


@require_safe
@login_required
@cache_control(private=True, max_age=31_536_000, immutable=True)
def result_video(request: AuthenticatedRequest, image_id: int, variant: str) -> HttpResponseBase:
    """A clip's mp4 or its small preview, with HTTP Range so the browser can seek; 404
    for a still image."""
    image = result_for_user(request.user, image_id)
    return files.video_response(request, image, variant, download="download" in request.GET)


@require_GET
@login_required
@cache_control(private=True, max_age=3600)
def job_preview(request: AuthenticatedRequest, job_id: int) -> FileResponse:
    job, _ = job_for_user(request.user, job_id)
    # A newer preview replaces this one (and its file goes) as the job moves on; the job
    # is read again once, and a preview gone meanwhile is a 404, never an error.
    for _ in range(2):
        if not job.preview:
            raise Http404("This job has no preview.")
        try:
            return FileResponse(job.preview.open("rb"))
        except FileNotFoundError:
            job.refresh_from_db(fields=["preview"])
    raise Http404("This job's preview has just been replaced.")


@require_GET
def job_mask(request: HttpRequest, job_id: int, token: str) -> HttpResponse:
    """The mask drawn for a Vary (Region) job, for a provider that fetches masks. Public
    like an input image: the token in the link stands in for a login; it serves only
    while the provider may still need it."""
    job = Job.objects.filter(pk=job_id).first()
    mask = (job.parameters or {}).get("mask", "") if job else ""
    if job is None or not mask or not constant_time_compare(token, job.mask_token):
        raise Http404("No such mask.")
    if job.finished_at and job.finished_at < timezone.now() - timedelta(days=1):
        raise Http404("This mask is no longer served.")
    response = HttpResponse(base64.b64decode(mask), content_type="image/png")
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # the provider cannot send a CSRF token; the per-job secret stands in for it
@require_POST
def webhook(request: HttpRequest, provider: str, job_id: int, token: str = "") -> JsonResponse:
    """A provider's webhook: a hint that a task changed. Addressed to one job and
    authenticated the way its provider can (a secret header, or the job's token in the
    URL), deduplicated, forward-only; the final state is read with GET by the worker
    before anything else happens. A job whose create went unanswered learns its task id
    here. A running job's next percent, the commonest news, is one statement."""
    # Most news is a running job's next percent: one statement, no read first.
    if _progress_step(request, provider, job_id, token):
        return JsonResponse({"status": "ok"})
    try:
        # get(), not first(): no ORDER BY to compile (a fifth of this view's time).
        job = Job.objects.select_related("api_task").get(pk=job_id)
    except Job.DoesNotExist:
        return JsonResponse({"error": "unauthorized"}, status=401)
    if job.provider != provider:
        return JsonResponse({"error": "unauthorized"}, status=401)
    if not job.api.webhook_is_authentic(
        headers=request.headers, token=token, secret=job.webhook_secret
    ):
        return JsonResponse({"error": "unauthorized"}, status=401)
    try:
        body = json.loads(request.body)
        task = job.api.webhook_task(body)
    except ValueError as error:
        return JsonResponse({"error": str(error)}, status=400)
    if job.provider_task_id and task.task_id and task.task_id != job.provider_task_id:
        return JsonResponse({"error": "task id does not match this job"}, status=400)
    if not job.provider_task_id and task.task_id:
        # The answer to the create was lost: the job's own secret vouches for its task.
        services.job_adopt_task(job, task.task_id)
    if task.status in ("completed", "failed"):
        # The final state is read again with GET, once: a redelivery is a duplicate (its
        # task, not the whole body, tells: a redelivery carries a new timestamp).
        data = body.get("data", body) if isinstance(body, dict) else body
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        if not WebhookDelivery.objects.record(job, digest):
            return JsonResponse({"status": "duplicate"})
        tasks.refresh_job.enqueue(job.pk)
    elif not services.job_apply_provider_task(job, task):
        # News on the way only moves a job forward: a redelivery, or news older than
        # what the job shows, changes nothing (and, many a second, is kept nowhere).
        return JsonResponse({"status": "stale"})
    return JsonResponse({"status": "ok"})


def _progress_step(request: HttpRequest, provider: str, job_id: int, token: str) -> bool:
    """Whether the webhook was a running job's higher progress, applied at once (see
    services.job_progress_step). A body that is no task is told the sender by the view,
    once it is known to be the job's provider, not to anyone who posts."""
    api = provider_class(provider)
    try:
        task = api.webhook_task(json.loads(request.body))
    except Exception:
        return False
    secret = api.webhook_secret_given(headers=request.headers, token=token)
    return services.job_progress_step(job_id, provider=provider, secret=secret, task=task)


IMAGE_WORK_PAGE = "generation/image_work.html"
CANVAS_PAGE = "generation/canvas.html"
# Where a form of the image work shows a refusal: in place, in its dialog or page.
WORK_REFUSAL = "work-refusal"
END_FRAME_CHOICES = 12
# The canvas editor's preset shapes, beside "image + margin".
CANVAS_SHAPES = ("1:1", "4:3", "3:4", "16:9", "9:16")


@require_http_methods(["GET", "POST"])
@login_required
def image_work(request: AuthenticatedRequest, project_id: int, operation: str) -> HttpResponse:
    """Animate, Retexture, Remove background or Edit one of the project's images (a
    result or an upload). GET: the form that asks what to make (Animate's and
    Retexture's dialog, Edit's canvas page). POST: the job's card, or the sentence why
    not (nothing is made), in the form's own place when it asks there."""
    project, membership = project_for_generating(request.user, project_id)
    if request.method == "GET":
        return image_work_form(request, project, membership, operation)
    try:
        job = image_work_job(
            project=project, user=request.user, operation=operation, fields=request.POST
        )
    except (services.FollowUpRefused, billing.BudgetExceeded, InputImageError) as refused:
        if request.htmx and request.htmx.target == WORK_REFUSAL:
            context = {"message": str(refused)}
            return render(request, f"{IMAGE_WORK_PAGE}#refusal", context, status=422)
        return refusal(request, str(refused))
    if request.POST.get("open"):
        # From the canvas editor: go and watch the new job.
        return HttpResponseClientRedirect(reverse("generation:job", args=[job.pk]))
    return created(request, job)


def image_work_form(
    request: AuthenticatedRequest, project: Project, membership: Membership, operation: str
) -> HttpResponse:
    """What to make from the image `?source=` names, asked before anything is made: 404
    for an image not of this project, or work no provider of the team offers for it."""
    source = request.GET.get("source", "")
    try:
        offer = image_offers.offered(project, source, operation)
    except services.FollowUpRefused as refused:
        raise Http404(str(refused)) from None
    if offer is None:
        raise Http404("That is not made from this image here.")
    image = image_work_source(project, source)
    context: dict[str, Any] = {
        "project": project,
        "membership": membership,
        "offer": offer,
        "image": image,
    }
    if operation == Operation.EDIT:
        return render(request, CANVAS_PAGE, {**context, "shapes": CANVAS_SHAPES})
    if operation == Operation.ANIMATE:
        context["end_frames"] = (
            ResultImage.objects.filter(project=project)
            .in_gallery()
            .stills()
            .exclude(pk=image.result_id or 0)
            .order_by("-created_at", "-id")[:END_FRAME_CHOICES]
        )
        return render(request, f"{IMAGE_WORK_PAGE}#animate-dialog", context)
    if operation == Operation.RETEXTURE:
        return render(request, f"{IMAGE_WORK_PAGE}#retexture-dialog", context)
    raise Http404("Remove background needs no form: it is one click.")


@dataclass(frozen=True)
class WorkSource:
    """The image a form of the image work shows: its links and its pixel size."""

    name: str  # "result:<id>" or "input:<id>"
    full: str
    thumb: str
    width: int
    height: int
    result_id: int | None
    back: str  # where Cancel goes: its job, or the project

    @property
    def ratio(self) -> str:
        return f"{self.width}:{self.height}"


def image_work_source(project: Project, name: str) -> WorkSource:
    kind, _, number = name.partition(":")
    if kind == "result":
        result = get_object_or_404(ResultImage, pk=int(number), job__project=project)
        return WorkSource(
            name,
            reverse("generation:image", args=[result.pk]),
            reverse("generation:image-thumb", args=[result.pk]),
            result.width,
            result.height,
            result.pk,
            reverse("generation:job", args=[result.job_id]),
        )
    upload = get_object_or_404(InputImage, pk=int(number), project=project)
    return WorkSource(
        name,
        upload.image_path(),
        upload.thumbnail_path(),
        upload.width,
        upload.height,
        None,
        reverse("generation:project", args=[project.pk]),
    )
