"""What a team keeps of its results: favourites (per member) and tags (per project).
The images themselves are `generation.ResultImage`."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from studio.generation.models import ResultImage
from studio.projects.models import Project


class Favourite(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    image = models.ForeignKey(ResultImage, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "image"], name="one_favourite_per_image")
        ]

    def __str__(self) -> str:
        return f"{self.user} ♥ {self.image}"


class Tag(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="one_tag_name_per_project"),
            # "Sunset" and "sunset" are one tag.
            models.UniqueConstraint(
                "project", Lower("name"), name="one_tag_name_per_project_any_case"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ImageTag(models.Model):
    image = models.ForeignKey(ResultImage, on_delete=models.CASCADE, related_name="image_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="image_tags")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "tag"], name="one_tag_per_image")]

    def __str__(self) -> str:
        return f"{self.tag} on {self.image}"
