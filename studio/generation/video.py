"""What an Animate job is asked for: the motion, the resolution, a loop, an end frame.

Checked here, from a form's fields, before any job or hold is made; the job keeps them
in its parameters, which the provider module turns into its request (LegNext:
`videoType`, `--motion`, `--loop`, `--end <url>`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MOTIONS = {"low": "Low motion", "high": "High motion"}
RESOLUTIONS = {"480p": "480p", "720p": "720p"}


class AnimationRefused(ValueError):
    """The options cannot make an animation; the message is for people."""


@dataclass(frozen=True)
class Animation:
    motion: str = "low"
    resolution: str = "480p"
    loop: bool = False
    # The end frame is one of the job's input images (its last); see TaskRequest.
    end_frame: bool = False

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any], *, has_end_frame: bool) -> "Animation":
        motion = str(fields.get("motion") or "low")
        resolution = str(fields.get("resolution") or "480p")
        if motion not in MOTIONS:
            raise AnimationRefused("Choose low or high motion.")
        if resolution not in RESOLUTIONS:
            raise AnimationRefused("Choose 480p or 720p.")
        loop = str(fields.get("loop") or "") in ("1", "on", "true")
        if loop and has_end_frame:
            raise AnimationRefused(
                "A loop ends where it began, so it cannot also end on another image: choose one."
            )
        return cls(motion=motion, resolution=resolution, loop=loop, end_frame=has_end_frame)

    def parameters(self) -> dict[str, Any]:
        return {
            "motion": self.motion,
            "resolution": self.resolution,
            "loop": self.loop,
            "end_frame": self.end_frame,
        }

    @property
    def step(self) -> str:
        """How the step reads in a lineage."""
        words = [f"Animate · {self.resolution}", MOTIONS[self.motion].lower()]
        if self.loop:
            words.append("loop")
        if self.end_frame:
            words.append("end frame")
        return " · ".join(words)
