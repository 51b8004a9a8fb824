"""The providers Studio speaks to, one module each, behind one interface (`base.Provider`).

The workflow picks a provider by the name stored on a key or a job, and never names one.
"""

from studio.providers.base import Provider
from studio.providers.legnext import LegNext
from studio.providers.piapi import PiAPI

PROVIDERS: dict[str, type[Provider]] = {PiAPI.name: PiAPI, LegNext.name: LegNext}
CHOICES = [(name, provider.label) for name, provider in PROVIDERS.items()]


def provider_class(name: str) -> type[Provider]:
    """The provider a key or job names (keys and jobs made before LegNext are PiAPI)."""
    return PROVIDERS.get(name or PiAPI.name, PiAPI)
