"""Recorded payloads of each provider's protocol: PiAPI's (../shared/piapi-protocol.md)
under piapi/, LegNext's (../shared/legnext-protocol.md) under legnext/."""

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def load(name: str, provider: str = "piapi") -> dict[str, Any]:
    return json.loads((HERE / provider / f"{name}.json").read_text())
