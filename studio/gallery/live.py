"""New results land at the top of every open (unfiltered) gallery of the project: their
tiles go out with the job's card, in its push once the results are stored
(`generation.services.job_store_results`).

Only the unfiltered gallery's grid has the id `gallery-grid`, so a filtered view, whose
order and contents the new tiles might not fit, is left as it is.
"""

from collections.abc import Collection

from django.template.loader import render_to_string

from studio.gallery.queries import GalleryItem
from studio.generation.models import Job

PAGE = "gallery/gallery.html"


def new_tiles_html(job: Job, kept_before: Collection[int]) -> str:
    """Tiles for `job`'s images that a gallery shows, newest first, to go on top of the
    grid, but for those whose index is in `kept_before` (stored before this store of its
    results began); "" if there are none (a describe, a seed, a result not stored).
    `job` is as its card was loaded for the push (`generation.live.job_for_card`, with
    its images and its creator): no query here.

    Everyone in the group gets the same HTML: an image just added is no one's favourite
    and has no tags yet (it has been on no page to be tagged from), and the lightbox
    links carry no filter. Images kept before went out with their own push."""
    new = [image for image in job.images.all() if image.index not in kept_before]
    images = sorted(
        (image for image in new if image.shown_in_gallery),
        key=lambda image: (image.created_at, image.pk),
        reverse=True,
    )
    if not images:
        return ""
    items = [GalleryItem(image) for image in images]
    return render_to_string(f"{PAGE}#new-tiles", {"items": items, "query": ""})
