import hashlib
import json

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from studio.accounts.models import AuthenticatedRequest
from studio.generation import live, services, tasks
from studio.generation.forms import ImagineForm
from studio.generation.models import Job, ResultImage, WebhookDelivery
from studio.piapi.client import ProviderTask
from studio.projects.access import project_for_generating, project_for_user

PAGE = "generation/project.html"


@require_GET
@login_required
@vary_on_headers("HX-Request")
def project_detail(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project, membership = project_for_user(request.user, project_id)
    return render(
        request,
        PAGE,
        {
            "project": project,
            "membership": membership,
            "form": ImagineForm() if membership.can_generate else None,
            "jobs": live.jobs_for_display(project.pk),
        },
    )


@require_POST
@login_required
def job_create(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project, membership = project_for_generating(request.user, project_id)
    form = ImagineForm(request.POST)
    context = {"project": project, "membership": membership, "form": form}
    if not form.is_valid():
        return render(request, f"{PAGE}#prompt-form", context, status=422)
    job = services.job_submit(
        project=project,
        user=request.user,
        prompt=form.cleaned_data["prompt"],
        aspect_ratio=form.cleaned_data["aspect_ratio"],
        process_mode=form.cleaned_data["process_mode"],
    )
    # A fresh form keeps the chosen ratio and mode; the new card lands at the top.
    context["form"] = ImagineForm(
        initial={
            "aspect_ratio": form.cleaned_data["aspect_ratio"],
            "process_mode": form.cleaned_data["process_mode"],
        }
    )
    response = render(request, f"{PAGE}#prompt-form", context, status=201)
    response.write(live.job_card_upsert_html(job))
    return response


@require_GET
@login_required
def job_card(request: AuthenticatedRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(Job.objects.select_related("created_by"), pk=job_id)
    project_for_user(request.user, job.project_id)
    return render(request, f"{PAGE}#job-card", {"job": job})


@require_GET
@login_required
@cache_control(private=True, max_age=31_536_000, immutable=True)
def result_image(request: AuthenticatedRequest, image_id: int, variant: str) -> FileResponse:
    image = get_object_or_404(ResultImage.objects.select_related("job"), pk=image_id)
    project_for_user(request.user, image.job.project_id)
    field = image.thumbnail if variant == "thumb" else image.file
    return FileResponse(field.open("rb"))


@require_GET
@login_required
@cache_control(private=True, max_age=3600)
def job_preview(request: AuthenticatedRequest, job_id: int) -> FileResponse:
    job = get_object_or_404(Job, pk=job_id)
    project_for_user(request.user, job.project_id)
    if not job.preview:
        raise Http404("This job has no preview.")
    return FileResponse(job.preview.open("rb"))


@csrf_exempt  # the provider cannot send a CSRF token; the per-job secret stands in for it
@require_POST
def webhook(request: HttpRequest, job_id: int) -> JsonResponse:
    """The provider's webhook: a hint that a task changed. Verified by the job's own
    secret (constant time), deduplicated, forward-only; the final state is read with GET
    by the worker before anything else happens."""
    job = Job.objects.filter(pk=job_id).first()
    secret = request.headers.get("x-webhook-secret", "")
    if job is None or not constant_time_compare(secret, job.webhook_secret):
        return JsonResponse({"error": "unauthorized"}, status=401)
    try:
        body = json.loads(request.body)
        data = body["data"]
        if not isinstance(data, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "expected {timestamp, data}"}, status=400)
    task = ProviderTask.from_data(data)
    if job.provider_task_id and task.task_id and task.task_id != job.provider_task_id:
        return JsonResponse({"error": "task id does not match this job"}, status=400)
    # The task object, not the whole body: a redelivery carries a new timestamp.
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    _, new = WebhookDelivery.objects.get_or_create(job=job, digest=digest)
    if not new:
        return JsonResponse({"status": "duplicate"})
    if task.status in ("completed", "failed"):
        tasks.refresh_job.enqueue(job.pk)
    else:
        services.job_apply_provider_task(job, task)
    return JsonResponse({"status": "ok"})
