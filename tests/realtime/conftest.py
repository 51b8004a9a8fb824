from typing import Any

import pytest


@pytest.fixture
def in_memory_layer(settings: Any) -> None:
    """The in-memory channel layer, whatever REDIS_URL says: for tests that take a socket
    out of a group by hand (the layer's `groups`) to lose a push on purpose. Channels
    builds its layers again when the setting changes. Redis's part is tested on Redis."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
