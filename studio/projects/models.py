from django.db import models

from studio.accounts.models import Team, User


class ProjectQuerySet(models.QuerySet["Project"]):
    def visible_to(self, user: User) -> "ProjectQuerySet":
        """Projects of the teams the user belongs to."""
        return self.filter(team__memberships__user=user)


class Project(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="project_name_unique_in_team")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
