"""How a job's step and text results read, whatever provider made them. What a result
offers (its follow-ups) comes from the job's provider: see `studio.providers`."""

import re
from collections.abc import Mapping
from typing import Any

PAN_ARROWS = {"left": "←", "right": "→", "up": "↑", "down": "↓"}
NAMED_UPSCALES = {
    "subtle": "Upscale (Subtle)",
    "creative": "Upscale (Creative)",
    "2x": "Upscale 2×",
    "4x": "Upscale 4×",
    "light": "Light upscale",
    "beta": "Beta upscale",
}
LABELS = {
    "imagine": "Imagine",
    "reroll": "Reroll",
    "describe": "Describe",
    "blend": "Blend",
    "inpaint": "Vary (Region)",
    "outpaint": "Zoom Out",
    "seed": "Seed",
    "remix": "Remix",
    "enhance": "Enhance",
    "shorten": "Shorten",
    "animate": "Animate",
    "extend": "Extend +4 s",
    "video_upscale": "Upscale (video)",
    "retexture": "Retexture",
    "remove_bg": "Remove background",
    "edit": "Edit",
}


def split_description(description: str) -> list[str]:
    """Describe's answer is one string with four numbered prompts ("1️⃣ …\\n\\n2️⃣ …")."""
    parts = re.split(r"(?:^|\n)\s*(?:[1-4]\ufe0f?\u20e3|[1-4][.)])\s*", description.strip())
    prompts = [part.strip() for part in parts if part.strip()]
    return prompts or ([description.strip()] if description.strip() else [])


def step_label(operation: str, parameters: Mapping[str, Any]) -> str:
    """How a step reads in a lineage: "Imagine", "U2", "Zoom Out 2×", "Pan ←"…"""
    if parameters.get("step"):
        return str(parameters["step"])  # said by the follow-up that made it
    if operation == "upscale":
        index = str(parameters.get("index", ""))
        return f"U{index}" if index.isdigit() else NAMED_UPSCALES.get(index, "Upscale")
    if operation == "variation":
        index = str(parameters.get("index", ""))
        if index.isdigit():
            return f"V{index}"
        return "Vary (Strong)" if index == "high_variation" else "Vary (Subtle)"
    if operation == "pan":
        direction = str(parameters.get("direction", ""))
        return f"Pan {PAN_ARROWS.get(direction, direction)}"
    if operation == "outpaint":
        return f"Zoom Out {parameters.get('zoom_ratio') or parameters.get('zoom', '')}×"
    return LABELS.get(operation, operation.title())
