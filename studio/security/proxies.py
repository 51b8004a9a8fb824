"""Who a request comes from when Studio runs behind load balancers or proxies.

A proxy names its client in X-Forwarded-For and says whether that client used HTTPS in
X-Forwarded-Proto. Anyone can send those headers, so they count only on connections from
a proxy listed in STUDIO_TRUSTED_PROXIES. Each proxy appends the address it saw, so the
client is the right-most address that is not itself a trusted proxy; whatever lies to its
left was written by the client and may be anything. The result becomes the ASGI scope's
`client` and `scheme`, which Django reads as REMOTE_ADDR (login throttling locks it) and
as `request.is_secure()`; websockets get the same treatment.
"""

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Application = Callable[[Scope, Receive, Send], Awaitable[None]]


def parse_address(text: str) -> Address | None:
    """An address as proxies write it (`203.0.113.7`, `203.0.113.7:5120`, `2001:db8::1`,
    `[2001:db8::1]:443`), or None for anything else. An IPv4 address mapped into IPv6
    (what a dual-stack socket reports) is the IPv4 address."""
    text = text.strip()
    if text.startswith("["):
        text, closed, _port = text[1:].partition("]")
        if not closed:
            return None
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


def forwarded_client(
    peer: Address, forwarded_for: Sequence[str], trusted: Sequence[Network]
) -> Address:
    """The client behind `peer`, a trusted proxy: walking X-Forwarded-For from the right,
    the first address that is not a trusted proxy. When every address is one, the
    left-most. Something that is not an address stops the walk where it is: nothing to
    its left was vouched for by a trusted proxy."""
    client = peer
    for hop in reversed(forwarded_for):
        address = parse_address(hop)
        if address is None:
            break
        client = address
        if not is_trusted(address, trusted):
            break
    return client


def forwarded_scheme(forwarded_proto: Sequence[str], *, websocket: bool) -> str | None:
    """The scheme the trusted proxy reports: the last value, the one it set itself."""
    if not forwarded_proto:
        return None
    value = forwarded_proto[-1].strip().lower()
    if value not in ("http", "https"):
        return None
    if websocket:
        return "wss" if value == "https" else "ws"
    return value


def header_values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[str]:
    """The comma-separated values of a header, over all its lines, in order."""
    return [
        item.strip()
        for key, value in headers
        if key.lower() == name
        for item in value.decode("latin-1").split(",")
        if item.strip()
    ]


def forwarded_scope(scope: Scope, trusted: Sequence[Network]) -> Scope:
    """`scope` with the client and scheme a trusted proxy reports; as it was otherwise."""
    peer = parse_address(scope["client"][0]) if scope.get("client") else None
    if peer is None or not is_trusted(peer, trusted):
        return scope
    forwarded = dict(scope)
    forwarded_for = header_values(scope["headers"], b"x-forwarded-for")
    if forwarded_for:
        forwarded["client"] = (str(forwarded_client(peer, forwarded_for, trusted)), 0)
    scheme = forwarded_scheme(
        header_values(scope["headers"], b"x-forwarded-proto"),
        websocket=scope["type"] == "websocket",
    )
    if scheme:
        forwarded["scheme"] = scheme
    return forwarded


class ForwardedHeadersMiddleware:
    """ASGI middleware around the whole application (HTTP and websockets): on connections
    from STUDIO_TRUSTED_PROXIES, the client and scheme are the ones the proxy reports."""

    def __init__(self, app: Application) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = forwarded_scope(scope, settings.STUDIO_TRUSTED_PROXIES)
        await self.app(scope, receive, send)
