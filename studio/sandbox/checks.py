from typing import Any

from django.core.checks import CheckMessage, Error

from studio.sandbox import behaviours


def check_behaviours_setting(**kwargs: Any) -> list[CheckMessage]:
    """A typo in SANDBOX_BEHAVIOURS would silently test nothing; refuse to start."""
    return [
        Error(
            f"SANDBOX_BEHAVIOURS names an unknown behaviour {name!r}.",
            hint="Known: " + ", ".join(behaviour.value for behaviour in behaviours.Behaviour),
            id="sandbox.E001",
        )
        for name in behaviours.unknown_in_settings()
    ]
