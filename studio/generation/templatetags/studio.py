from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from studio.generation import image_offers, menus
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
    """The job's follow-ups as its card lays them out (see `studio.generation.menus`),
    with what can be made from each of its images (`studio.generation.image_offers`)."""
    return menus.follow_ups(job.actions, job.quadrant_image, image_offers.job_offers(job))


@register.filter
def about(seconds: int | None) -> str:
    """A typical duration, roughly: "~40 s", "~2 min"."""
    if not seconds:
        return ""
    if seconds < 90:
        return f"~{seconds} s"
    return f"~{round(seconds / 60)} min"


@register.filter
def elapsed(moment: datetime | None) -> str:
    """Time since `moment` as a clock reads it ("0:07", "1:02:03"); the page's script
    keeps it ticking."""
    if moment is None:
        return ""
    total = max(0, int((timezone.now() - moment).total_seconds()))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


@register.filter
def clip_length(seconds: float | None) -> str:
    """A clip's length as a player shows it: "0:05", "1:02"."""
    if seconds is None:
        return ""
    minutes, rest = divmod(max(1, round(seconds)), 60)
    return f"{minutes}:{rest:02}"


@register.filter
def shape(job: Job) -> str:
    """`ar-N`, N the width/height ratio of what the card shows in tenths (2–40): its share
    of a feed row (the gallery's classes; a class, since the CSP allows no inline styles).
    The stored result's own size where there is one: a pan or zoom changes the shape."""
    grid = job.grid_image if job.makes_images else None
    if job.makes_clips:
        # Four clips of one shape, two by two: the card has their shape.
        grid = next(iter(job.clips), None)
    width, height = (grid.width, grid.height) if grid and grid.height else job.width_height
    if not job.makes_images or not height:
        return "ar-10"
    return f"ar-{min(40, max(2, round(width / height * 10)))}"
