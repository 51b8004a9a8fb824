from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from studio.generation import menus
from studio.generation.models import Job

register = template.Library()


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now", "3 minutes ago", "2 days ago": the largest unit only."""
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment, depth=1)} ago"


@register.simple_tag
def follow_ups(job: Job) -> menus.FollowUps:
    """The job's follow-ups as its card lays them out (see `studio.generation.menus`)."""
    return menus.follow_ups(job.actions, job.quadrant_image)
