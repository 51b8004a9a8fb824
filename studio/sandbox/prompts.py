"""Reading a Midjourney prompt the way the sandbox needs to: its subject (what the
picture is about), and the few ``--flags`` that change what the sandbox does."""

import hashlib
import re

from studio.sandbox.behaviours import MARKER_PATTERN

MAX_SEED = 4_294_967_295  # Midjourney's --seed range is 0..2^32-1

SEED_FLAG = re.compile(r"--seed\s+(\d+)\b", re.IGNORECASE)
ASPECT_FLAG = re.compile(r"--(?:ar|aspect)\s+(\S+)", re.IGNORECASE)
VERSION_FLAG = re.compile(r"--(?:v|version)\s+(\d+(?:\.\d+)?)\b", re.IGNORECASE)
NIJI_FLAG = re.compile(r"--niji(?:\s+(\d+(?:\.\d+)?))?\b", re.IGNORECASE)
LEADING_URLS = re.compile(r"^(?:\s*https?://\S+)+")
# Speed and draft flags: how LegNext picks a job's mode and price (it has no mode field).
SPEED_FLAG = re.compile(r"--(fast|turbo|relax)\b", re.IGNORECASE)
DRAFT_FLAG = re.compile(r"--draft\b", re.IGNORECASE)


def subject(prompt: str) -> str:
    """The words of the prompt without markers, image URLs and flags, lowercased.

    Flags come last in a Midjourney prompt, so everything from the first `--` is cut.
    """
    text = MARKER_PATTERN.sub(" ", prompt)
    text = LEADING_URLS.sub(" ", text)
    text = text.split("--", 1)[0]
    return " ".join(text.lower().split())


def seed(prompt: str) -> int:
    """The `--seed N` of the prompt, else one derived from its subject (stable)."""
    match = SEED_FLAG.search(prompt)
    if match:
        return min(int(match.group(1)), MAX_SEED)
    digest = hashlib.sha256(subject(prompt).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def speed_flag(prompt: str) -> str | None:
    """The mode a prompt names with --fast, --turbo or --relax (the last one wins, as
    with any Midjourney flag), lowercased; None without one."""
    found = SPEED_FLAG.findall(prompt)
    return found[-1].lower() if found else None


def is_draft(prompt: str, model_version: str) -> bool:
    """Whether the prompt runs in v7's draft mode: --draft, in v7 or later (a prompt
    without --v runs in Midjourney's default, v7)."""
    return bool(DRAFT_FLAG.search(prompt)) and (
        not model_version.startswith("niji") and version_number(model_version) >= 7
    )


def aspect_flag(prompt: str) -> str | None:
    match = ASPECT_FLAG.search(prompt)
    return match.group(1) if match else None


def model_version(prompt: str) -> str:
    niji = NIJI_FLAG.search(prompt)
    if niji:
        return f"niji {niji.group(1)}" if niji.group(1) else "niji"
    version = VERSION_FLAG.search(prompt)
    # PiAPI answers "unknown" when the prompt does not name a version.
    return version.group(1) if version else "unknown"


# Midjourney's current default when a prompt names no version (PiAPI shows "unknown").
DEFAULT_VERSION = 7.0
DEFAULT_NIJI_VERSION = 6.0
# Vary (Strong/Subtle/Region), Zoom Out and Pan came with v5.2 (and niji 5).
EDITING_FROM_VERSION = 5.2


def version_number(model_version: str) -> float:
    """The Midjourney version a model_version stands for, niji mapped onto the version
    of the same generation (niji 5 ~ v5.2, niji 6 ~ v6)."""
    if model_version.startswith("niji"):
        number = model_version.removeprefix("niji").strip()
        niji = float(number) if number else DEFAULT_NIJI_VERSION
        return EDITING_FROM_VERSION if niji < DEFAULT_NIJI_VERSION else niji
    try:
        return float(model_version)
    except ValueError:
        return DEFAULT_VERSION


def second_upscales(model_version: str) -> tuple[str, str]:
    """The two upscale indices an upscaled image offers in this version
    (https://piapi.ai/docs/midjourney-api/upscale)."""
    number = version_number(model_version)
    if number >= 6:
        return ("subtle", "creative")
    if number >= 5:
        return ("2x", "4x")
    return ("light", "beta")


def offers_editing(model_version: str) -> bool:
    """Whether an upscaled image of this version can be varied, zoomed out, panned or
    have a region repainted."""
    return version_number(model_version) >= EDITING_FROM_VERSION
