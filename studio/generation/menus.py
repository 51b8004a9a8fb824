"""How a result's follow-ups are laid out on a card or in the lightbox.

A result whose images each offer only the quick U and V (PiAPI's grids, upscales)
keeps one row of buttons. A grid whose images each offer a whole menu (LegNext's:
upscale, vary, pan, zoom, region, remix…) gets an image picker and, for the image
picked, its menu in groups, so that a card shows the images first and not fifty
buttons. What is offered comes from the job's provider (`Job.actions`); this module
only arranges it.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from studio.providers.base import Action

# The rows of an image's menu: (name, heading, the action groups it holds), in order. An
# action group not listed gets a row of its own at the end.
ROWS: list[tuple[str, str, set[str]]] = [
    ("upscale", "Upscale", {"upscale"}),
    ("vary", "Vary", {"vary"}),
    ("pan", "Pan", {"pan"}),
    ("zoom", "Zoom out", {"zoom"}),
    ("more", "More", {"region", "enhance"}),
    ("remix", "Remix", {"remix"}),
]
# Follow-ups that send the image's new prompt along, when one is typed (a remix needs
# one; a variation, pan, zoom or region repaint may take one).
TAKES_PROMPT = {"variation", "pan", "outpaint", "inpaint", "remix"}
# What a row of quick buttons holds per image (MJ's U1–U4, V1–V4); an image offering
# more than these gets a menu of its own.
QUICK_GROUPS = {"upscale", "vary"}
QUICK_BUTTONS_PER_IMAGE = 2
# Follow-ups that open a form of their own first (Animate's dialog, Edit's canvas): they
# show as the image's offers (`studio.generation.image_offers`), with the image work
# other providers do, not as buttons that act at once.
OFFERED_AS_WORK = {"animate", "canvas"}


@dataclass(frozen=True)
class Item:
    """One follow-up as a menu shows it: the action, and its short text under a group
    heading ("Subtle" under "Upscale"; the action's own label stays its accessible name)."""

    action: Action
    short: str

    @property
    def takes_prompt(self) -> bool:
        return self.action.operation in TAKES_PROMPT


@dataclass(frozen=True)
class Group:
    name: str
    heading: str
    items: list[Item]
    custom_zoom: Item | None = None  # a zoom factor typed in (needs="zoom")

    @property
    def unavailable(self) -> bool:
        """None of its follow-ups can be used (its fields are disabled too)."""
        items = [*self.items, *([self.custom_zoom] if self.custom_zoom else [])]
        return all(item.action.unavailable for item in items)


@dataclass(frozen=True)
class ImageMenu:
    """What one image of a grid offers, and the stored image itself (to view, download)."""

    number: int
    image: Any  # ResultImage | None (None while the results are being stored)
    groups: list[Group]
    # What can be made from the image: Animate, Retexture… (image_offers.Offer).
    work: list[Any] = field(default_factory=list)

    @property
    def takes_prompt(self) -> bool:
        return any(item.takes_prompt for group in self.groups for item in group.items)

    @property
    def remix(self) -> Group | None:
        return next((group for group in self.groups if group.name == "remix"), None)

    @property
    def other_groups(self) -> list[Group]:
        return [group for group in self.groups if group.name != "remix"]


@dataclass(frozen=True)
class FollowUps:
    actions: list[Action]
    # The per-image menus, when the images offer more than quick buttons (else empty).
    images: list[ImageMenu] = field(default_factory=list)
    # What acts on the whole result, shown beside the image picker (reroll).
    whole: list[Action] = field(default_factory=list)
    # What can be made from a single image (an upscale, a cut-out): image_offers.Offer.
    work: list[Any] = field(default_factory=list)

    @property
    def per_image(self) -> bool:
        return bool(self.images)

    @property
    def shown(self) -> bool:
        """Whether there is anything to show at all."""
        return bool(self.actions or self.images or self.work)

    @property
    def unavailable(self) -> str:
        """The reason every follow-up shares, when none can be used (too old, say)."""
        reasons = {action.unavailable for action in self.actions}
        return reasons.pop() if len(reasons) == 1 else ""


def short_label(action: Action) -> str:
    """ "Upscale (Subtle)" → "Subtle"; "Zoom Out 1.5×" → "1.5×"; arrows and the rest as
    they are."""
    label = action.label
    if "(" in label and action.group in ("upscale", "vary", "remix"):
        return label[label.index("(") + 1 : label.rindex(")")]
    if action.group == "zoom" and label.startswith("Zoom Out "):
        return label.removeprefix("Zoom Out ")
    return label


def image_groups(actions: Sequence[Action]) -> list[Group]:
    """An image's follow-ups in rows, in the order a menu shows them."""
    listed = set().union(*(kinds for _, _, kinds in ROWS))
    rows = ROWS + [
        (name, name.title(), {name})
        for name in dict.fromkeys(a.group for a in actions if a.group not in listed)
    ]
    groups = []
    for name, heading, kinds in rows:
        members = [action for action in actions if action.group in kinds]
        if not members:
            continue
        custom = next((a for a in members if a.needs == "zoom"), None)
        groups.append(
            Group(
                name=name,
                heading=heading,
                items=[Item(a, short_label(a)) for a in members if a is not custom],
                custom_zoom=Item(custom, "Zoom") if custom else None,
            )
        )
    return groups


def follow_ups(
    actions: list[Action],
    image: Callable[[int], Any],
    work: Mapping[int, list[Any]] | None = None,
) -> FollowUps:
    """The follow-ups of a result laid out: `image(n)` is the grid's stored image n;
    `work` what can be made from each image, by its index (0: a single image). A grid
    whose images offer work gets a menu per image, like one whose images offer more than
    U and V."""
    work = work or {}
    actions = [action for action in actions if action.needs not in OFFERED_AS_WORK]
    by_image: dict[int, list[Action]] = {}
    for action in actions:
        if action.image is not None:
            by_image.setdefault(action.image, []).append(action)
    numbers = sorted(set(by_image) | {number for number in work if number >= 1})
    image_work = any(work.get(number) for number in numbers)
    if not image_work and not any(needs_menu(each) for each in by_image.values()):
        return FollowUps(actions, work=work.get(0, []))
    return FollowUps(
        actions,
        images=[
            ImageMenu(
                number,
                image(number),
                image_groups(by_image.get(number, [])),
                work.get(number, []),
            )
            for number in numbers
        ],
        whole=[action for action in actions if action.image is None],
        work=work.get(0, []),
    )


def image_menu(actions: list[Action], number: int, image: Any) -> ImageMenu | None:
    """One image's menu (the lightbox shows one image); None when it offers only quick
    buttons. What can be made from the image the lightbox shows on its own."""
    mine = [a for a in actions if a.image == number and a.needs not in OFFERED_AS_WORK]
    return ImageMenu(number, image, image_groups(mine)) if needs_menu(mine) else None


def needs_menu(actions: Sequence[Action]) -> bool:
    """Whether one image's follow-ups are more than quick U and V buttons."""
    return len(actions) > QUICK_BUTTONS_PER_IMAGE or any(
        action.group not in QUICK_GROUPS for action in actions
    )
