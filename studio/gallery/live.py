"""New results land at the top of every open (unfiltered) gallery of the project: their
tiles go out with the job's card, in its push once the results are stored
(`generation.services.job_store_results`).

Only the unfiltered gallery's grid has the id `gallery-grid`, so a filtered view, whose
order and contents the new tiles might not fit, is left as it is.
"""

from django.template.loader import render_to_string

from studio.gallery.queries import items_for
from studio.generation.models import ResultImage

PAGE = "gallery/gallery.html"


def new_tiles_html(job_id: int) -> str:
    """The job's gallery images as tiles, newest first, to go on top of the grid; "" if it
    has none (a describe, a seed, a result not stored)."""
    images = list(
        ResultImage.objects.in_gallery()
        .filter(job_id=job_id)
        .select_related("job__created_by")
        .order_by("-created_at", "-id")
    )
    if not images:
        return ""
    # Everyone in the group gets the same HTML: no one's favourites (a new image is no
    # one's favourite yet), no filter in the lightbox links.
    tiles = "".join(
        render_to_string(f"{PAGE}#tile", {"item": item, "query": ""})
        for item in items_for(images, user=None)
    )
    return f'<div hx-swap-oob="afterbegin:#gallery-grid">{tiles}</div>'
