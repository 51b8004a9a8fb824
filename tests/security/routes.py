"""Every URL pattern of the project, with sample arguments that point at Acme's things."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    route: str  # e.g. "projects/<int:project_id>/jobs/"
    name: str  # namespaced, e.g. "generation:job-create"
    callback: Any

    def path(self, values: dict[str, Any]) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match["name"]
            if name not in values:
                raise KeyError(f"no sample value for <{name}> in {self.route!r}: add one")
            return str(values[name])

        return "/" + PARAMETER.sub(fill, self.route)


def routes() -> Iterator[Route]:
    def walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[Route]:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, route, inner)
            elif isinstance(pattern, URLPattern):
                yield Route(route, f"{namespace}{pattern.name or ''}", pattern.callback)

    yield from walk(get_resolver().url_patterns, "", "")
