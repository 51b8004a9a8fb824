"""What can be made from one still image Studio holds — Animate, Retexture, Remove
background, Edit — and at what price: the buttons a card, the lightbox and the
composer's chooser show.

`studio.generation.image_work` decides where such a job runs when it is asked for: a
follow-up of the image's own job where its provider offers one (LegNext animates and
edits its grids' images), else new work, as the image's public link, at the first of
the team's providers that offers it, in Fast mode. The offers here follow the same rule,
so that the price a button shows is the price the job is held for.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from studio.billing.services import PriceTable, dollars, price_table, table_price
from studio.generation.image_work import IMAGE_WORK, Source
from studio.generation.models import (
    SINGLE_IMAGE_OPERATIONS,
    Job,
    Operation,
    ProcessMode,
    ResultImage,
    Status,
)
from studio.generation.services import first_provider_for, providers_of
from studio.generation.video import RESOLUTIONS
from studio.projects.models import Project
from studio.providers import Provider

LABELS: dict[str, str] = {
    Operation.ANIMATE: "Animate…",
    Operation.RETEXTURE: "Retexture…",
    Operation.REMOVE_BACKGROUND: "Remove background",
    Operation.EDIT: "Edit…",
}
TITLES: dict[str, str] = {
    Operation.ANIMATE: "Four short clips of {what}: choose the motion, 480p or 720p, a loop",
    Operation.RETEXTURE: "{What} in another material or style, as you describe it",
    Operation.REMOVE_BACKGROUND: "{What} with its background cut out (a transparent PNG)",
    Operation.EDIT: "Place {what} on a larger canvas and repaint what you paint",
}


@dataclass(frozen=True)
class Offer:
    """One thing to make from an image: its button's text, tooltip, price and target."""

    project_id: int
    operation: str
    source: str  # how the form names the image: "result:<id>" or "input:<id>"
    what: str  # "image 2", "the image"
    # (resolution, price) for Animate, cheapest first; one ("", price) for the others.
    prices: tuple[tuple[str, str], ...]
    follow_up: bool  # a follow-up of the image's own job (else new work, as a link)

    @property
    def label(self) -> str:
        return LABELS[self.operation]

    @property
    def heading(self) -> str:
        """ "Animate image 2", "Retexture the image": what its dialog or page is called."""
        return f"{Operation(self.operation).label} {self.what}"

    @property
    def price(self) -> str:
        """What the button shows: the price, or Animate's lowest ("from $0.48")."""
        if len(self.prices) > 1:
            return f"from {self.prices[0][1]}"
        return self.prices[0][1]

    @property
    def title(self) -> str:
        text = TITLES[self.operation].format(what=self.what, What=self.what.capitalize())
        return f"{text} · {self.price}"

    @property
    def url(self) -> str:
        """The endpoint: GET shows its form (Animate, Retexture) or page (Edit); POST makes
        the job."""
        return reverse("generation:image-work", args=[self.project_id, self.operation])

    @property
    def opens_dialog(self) -> bool:
        return self.operation in (Operation.ANIMATE, Operation.RETEXTURE)

    @property
    def opens_page(self) -> bool:
        return self.operation == Operation.EDIT


@dataclass(frozen=True)
class Pricing:
    """What pricing an offer needs of the team: its providers and its prices."""

    providers: Sequence[type[Provider]]
    table: PriceTable

    @classmethod
    def of(
        cls,
        project: Project,
        table: PriceTable | None = None,
        providers: Sequence[type[Provider]] | None = None,
    ) -> "Pricing":
        """The project's team's; `table` and `providers` where the caller has them (the
        feed reads them once per team: see live.decorate)."""
        team = project.team
        return cls(
            providers if providers is not None else providers_of(team),
            table if table is not None else price_table(team.pk),
        )

    def prices(
        self, api: type[Provider], *, mode: str, operation: str, parameters: dict[str, Any]
    ) -> tuple[tuple[str, str], ...] | None:
        """The offer's prices at `api` in `mode`; None where it has no price there."""
        variants = [(r, {"resolution": r}) for r in RESOLUTIONS] if operation == "animate" else []
        try:
            return tuple(
                (
                    name,
                    dollars(
                        table_price(
                            self.table,
                            provider=api.name,
                            mode=mode,
                            operation=api.price_key(operation, {**parameters, **extra}),
                        )
                    ),
                )
                for name, extra in variants or [("", {})]
            )
        except LookupError:
            return None


def result_offers(image: ResultImage, pricing: Pricing) -> list[Offer]:
    """What can be made from a result image: the still images of a finished job (each of
    a grid's four, a single upscale or cut-out), never a whole grid or a clip."""
    job = image.job
    if job.status != Status.COMPLETED or image.is_clip or not job.makes_images:
        return []
    whole_single = image.index == ResultImage.GRID and job.operation in SINGLE_IMAGE_OPERATIONS
    if image.index == ResultImage.GRID and not whole_single:
        return []
    what = "the image" if whole_single else f"image {image.index}"
    follow_ups = {
        action.operation: action
        for action in job.actions
        if action.image == image.index and not whole_single and not action.unavailable
    }
    offers = []
    for operation in IMAGE_WORK:
        action = follow_ups.get(operation)
        if action is not None:
            prices = pricing.prices(
                job.api, mode=job.process_mode, operation=operation, parameters=action.parameters
            )
            if prices:
                offers.append(
                    Offer(job.project_id, operation, f"result:{image.pk}", what, prices, True)
                )
                continue
        offer = new_work_offer(job.project_id, operation, f"result:{image.pk}", what, pricing)
        if offer is not None:
            offers.append(offer)
    return offers


def new_work_offer(
    project_id: int, operation: str, source: str, what: str, pricing: Pricing
) -> Offer | None:
    """The offer as new work, where one of the team's providers starts it in Fast mode."""
    api = first_provider_for(pricing.providers, operation=operation, mode=ProcessMode.FAST)
    if api is None:
        return None
    prices = pricing.prices(api, mode=ProcessMode.FAST, operation=operation, parameters={})
    return Offer(project_id, operation, source, what, prices, False) if prices else None


def upload_offers(project: Project, pricing: Pricing, *, source: str = "") -> list[Offer]:
    """What can be made from an upload of the project (always new work)."""
    return [
        offer
        for operation in IMAGE_WORK
        if (offer := new_work_offer(project.pk, operation, source, "the image", pricing))
    ]


def job_offers(job: Job) -> dict[int, list[Offer]]:
    """The offers of each still image of a job's result, by the image's index (0 for a
    single image, 1–4 for a grid's). Empty for anything else, without a query."""
    if job.status != Status.COMPLETED or not job.makes_images or job.makes_clips:
        return {}
    images = [
        image
        for image in job.images.all()
        if not image.is_clip
        and (image.index != ResultImage.GRID or job.operation in SINGLE_IMAGE_OPERATIONS)
    ]
    if not images:
        return {}
    pricing = Pricing.of(
        job.project, getattr(job, "price_table", None), getattr(job, "team_providers", None)
    )
    offers = {image.index: result_offers(image, pricing) for image in images}
    return {index: found for index, found in offers.items() if found}


def offered(project: Project, source_name: str, operation: str) -> Offer | None:
    """The offer of `operation` for the image a form names, or None if not offered."""
    source = Source.named(project, source_name)
    pricing = Pricing.of(project)
    if source.result is not None:
        source.result.job.project = project
        found = result_offers(source.result, pricing)
    else:
        found = upload_offers(project, pricing, source=source_name)
    return next((offer for offer in found if offer.operation == operation), None)
