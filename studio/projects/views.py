from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, OuterRef, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from studio.accounts.models import AuthenticatedRequest, Membership, Role
from studio.generation.models import ResultImage
from studio.projects.forms import ProjectForm
from studio.projects.models import Project


@dataclass
class TeamRow:
    membership: Membership
    projects: list[Project]
    form: ProjectForm | None


@require_GET
@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    memberships = list(
        Membership.objects.filter(user=request.user).select_related("team").order_by("team__name")
    )
    projects = (
        Project.objects.visible_to(request.user)
        .annotate(
            job_count=Count("jobs"),
            last_job_at=Max("jobs__created_at"),
            cover_image_id=Subquery(
                ResultImage.objects.filter(job__project=OuterRef("pk"), index=ResultImage.GRID)
                .order_by("-created_at")
                .values("pk")[:1]
            ),
        )
        .order_by("team__name", "name")
    )
    by_team: dict[int, list[Project]] = {}
    for project in projects:
        by_team.setdefault(project.team_id, []).append(project)
    teams = [
        TeamRow(
            membership=membership,
            projects=by_team.get(membership.team_id, []),
            form=ProjectForm() if membership.role == Role.ADMIN else None,
        )
        for membership in memberships
    ]
    if len(teams) == 1 and len(teams[0].projects) == 1 and not request.GET.get("all"):
        # One team with one project: straight to work.
        return redirect("generation:project", teams[0].projects[0].pk)
    return render(request, "projects/home.html", {"teams": teams})


@require_POST
@login_required
def project_create(request: AuthenticatedRequest, team_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership, user=request.user, team_id=team_id)
    if membership.role != Role.ADMIN:
        raise PermissionDenied("Only team admins can create projects.")
    form = ProjectForm(request.POST, team=membership.team)
    if not form.is_valid():
        return render(
            request,
            "projects/home.html#project-form",
            {"team": TeamRow(membership=membership, projects=[], form=form)},
            status=422,
        )
    project = form.save(commit=False)
    project.team = membership.team
    project.save()
    return HttpResponseClientRedirect(reverse("generation:project", args=[project.pk]))
