"""The follow-ups a finished result offers, read from the provider's `output.actions`.

The provider lists what a result allows ("upscale2", "pan_left", "outpaint_2x", …; see
../shared/piapi-protocol.md); Studio offers exactly those, mapped to the task type and
input that perform them. An action Studio does not know is not offered.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from studio.generation.models import Job, Operation


@dataclass(frozen=True)
class Action:
    name: str  # the provider's action name, e.g. "upscale2"
    operation: str
    label: str  # short, for the button
    title: str  # long, for the tooltip
    group: str  # how buttons are laid out: upscale, vary, reroll, zoom, pan, region
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_editor(self) -> bool:
        """Vary Region needs a mask drawn in the browser before it can run."""
        return self.operation == Operation.INPAINT


PAN_ARROWS = {"left": "←", "right": "→", "up": "↑", "down": "↓"}
NAMED_UPSCALES = {
    "subtle": ("Upscale (Subtle)", "Upscale, keeping the image as it is"),
    "creative": ("Upscale (Creative)", "Upscale, letting Midjourney add detail"),
    "2x": ("Upscale 2×", "Upscale to twice the size"),
    "4x": ("Upscale 4×", "Upscale to four times the size"),
    "light": ("Light upscale", "Upscale with a light touch"),
    "beta": ("Beta upscale", "Upscale with the beta upscaler"),
}


def action_from_name(name: str) -> Action | None:
    """The action behind a provider action name, or None if Studio does not offer it."""
    if match := re.fullmatch(r"upscale([1-4])", name):
        n = match[1]
        return Action(
            name, Operation.UPSCALE, f"U{n}", f"Upscale image {n}", "upscale", {"index": n}
        )
    if match := re.fullmatch(r"variation([1-4])", name):
        n = match[1]
        return Action(
            name, Operation.VARIATION, f"V{n}", f"Variations of image {n}", "vary", {"index": n}
        )
    if name == "reroll":
        return Action(name, Operation.REROLL, "Reroll", "Run the prompt again", "reroll")
    if match := re.fullmatch(r"upscale_(subtle|creative|2x|4x|light|beta)", name):
        label, title = NAMED_UPSCALES[match[1]]
        return Action(name, Operation.UPSCALE, label, title, "upscale", {"index": match[1]})
    if name in ("high_variation", "low_variation"):
        strong = name == "high_variation"
        return Action(
            name,
            Operation.VARIATION,
            "Vary (Strong)" if strong else "Vary (Subtle)",
            "Variations with bigger changes" if strong else "Variations with small changes",
            "vary",
            {"index": name},
        )
    if match := re.fullmatch(r"outpaint_(1\.5|2)x", name):
        ratio = match[1]
        return Action(
            name,
            Operation.OUTPAINT,
            f"Zoom Out {ratio}×",
            f"Zoom out {ratio}×: Midjourney fills in the new border",
            "zoom",
            {"zoom_ratio": ratio},
        )
    if match := re.fullmatch(r"pan_(left|right|up|down)", name):
        direction = match[1]
        return Action(
            name,
            Operation.PAN,
            PAN_ARROWS[direction],
            f"Pan {direction}: extend the image {direction}wards",
            "pan",
            {"direction": direction},
        )
    if name == "inpaint":
        return Action(
            name, Operation.INPAINT, "Vary (Region)", "Repaint a region you draw", "region"
        )
    return None


def actions_for(job: Job) -> list[Action]:
    """What the job's result offers, in the provider's order."""
    names = (job.output or {}).get("actions") or []
    return [action for name in names if (action := action_from_name(str(name)))]


def split_description(description: str) -> list[str]:
    """Describe's answer is one string with four numbered prompts ("1️⃣ …\\n\\n2️⃣ …")."""
    parts = re.split(r"(?:^|\n)\s*(?:[1-4]\ufe0f?\u20e3|[1-4][.)])\s*", description.strip())
    prompts = [part.strip() for part in parts if part.strip()]
    return prompts or ([description.strip()] if description.strip() else [])


def step_label(job: Job) -> str:
    """How a step reads in a lineage: "Imagine", "U2", "Zoom Out 2×", "Pan ←"…"""
    parameters = job.parameters or {}
    if job.operation == Operation.UPSCALE:
        index = str(parameters.get("index", ""))
        return f"U{index}" if index.isdigit() else NAMED_UPSCALES.get(index, ("Upscale", ""))[0]
    if job.operation == Operation.VARIATION:
        index = str(parameters.get("index", ""))
        if index.isdigit():
            return f"V{index}"
        return "Vary (Strong)" if index == "high_variation" else "Vary (Subtle)"
    if job.operation == Operation.PAN:
        direction = str(parameters.get("direction", ""))
        return f"Pan {PAN_ARROWS.get(direction, direction)}"
    if job.operation == Operation.OUTPAINT:
        return f"Zoom Out {parameters.get('zoom_ratio', '')}×"
    return str(Operation(job.operation).label)
