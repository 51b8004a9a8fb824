"""Fetching an image from a link a user gave: the one way Studio reaches a URL it was told.

A user-supplied URL is a request forgery waiting to happen (SSRF): `http://127.0.0.1/`,
the cloud metadata service at 169.254.169.254, a database on the private network, or a
public name whose DNS answer points at any of those. So:

- only http and https, without user names or passwords in the link;
- the host is resolved once, and every address it resolves to must be public;
- Studio connects to the address it vetted (so DNS cannot change its answer between the
  check and the connection) while sending the link's host name in `Host` and checking
  the TLS certificate against that name;
- redirects are followed by hand, at most MAX_REDIRECTS, each one vetted again;
- the whole fetch, redirects included, has one time limit, and the body one byte limit.

Studio's webhooks to API callers (`post_json`) go out the same way, to the address
vetted at that moment, but follow no redirect at all: a POST is not repeated elsewhere.

This module is not for talking to the provider: that is studio/providers/.
"""

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import certifi
import idna
from django.conf import settings

from studio.inputs.errors import InputImageError, InputImageTooLarge, describe_size

MAX_REDIRECTS = 3
MAX_URL_LENGTH = 2048
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
DEFAULT_PORTS = {"http": 80, "https": 443}
CHUNK_BYTES = 64 * 1024
USER_AGENT = "Studio-image-fetcher/1.0"
IMAGE_REQUEST_HEADERS = {"User-Agent": USER_AGENT, "Accept": "image/*"}
POST_USER_AGENT = "Studio-webhooks/1.0"
# What Studio reads of the answer to a POST: enough to say why it was refused.
POST_ANSWER_MAX_BYTES = 4 * 1024

PRIVATE_ADDRESS = (
    "That address points inside a private network; Studio only fetches public http(s) URLs."
)
# Ranges refused whatever the running Python's `is_global` says about them (its tables
# have changed between releases).
BLOCKED_NETWORKS = [
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, including cloud metadata at 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",  # local-use NAT64
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # old site-local
        "ff00::/8",  # multicast
    )
]
# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits.
NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class FetchedImage:
    data: bytes
    final_url: str  # after redirects
    content_type: str  # as the server declared it; validation looks at the bytes


@dataclass(frozen=True)
class PostAnswer:
    status: int
    body: bytes  # its first POST_ANSWER_MAX_BYTES at most


@dataclass(frozen=True)
class _Destination:
    url: str
    scheme: str
    host: str  # ASCII, without brackets
    port: int
    addresses: list[str]  # vetted, in the resolver's order
    target: str  # path and query, as sent in the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def fetch_image(url: str) -> FetchedImage:
    """Download the image at a user's http(s) link, or raise `InputImageError` saying why not.

    At most INPUT_IMAGE_MAX_BYTES are read and the whole fetch, redirects included, takes
    at most INPUT_FETCH_TIMEOUT_SECONDS. The bytes are not validated as an image here.
    """
    timeout = float(settings.INPUT_FETCH_TIMEOUT_SECONDS)
    deadline = time.monotonic() + timeout
    current = url.strip()
    for _hop in range(MAX_REDIRECTS + 1):
        destination = vet_url(current)
        with _exchange(destination, deadline=deadline, timeout=timeout) as response:
            if response.status in REDIRECT_STATUSES:
                location = response.getheader("Location")
                if not location:
                    raise InputImageError("The link redirected without saying where to.")
                current = urljoin(destination.url, location.strip())
                continue
            if response.status != 200:
                raise InputImageError(
                    f"The link answered with HTTP {response.status} instead of an image."
                )
            data = _read_body(response, deadline=deadline, timeout=timeout)
            content_type = response.getheader("Content-Type") or ""
            return FetchedImage(
                data=data,
                final_url=destination.url,
                content_type=content_type.split(";")[0].strip().lower(),
            )
    raise InputImageError(f"The link redirected more than {MAX_REDIRECTS} times.")


def post_json(url: str, body: bytes, *, headers: Mapping[str, str], timeout: float) -> PostAnswer:
    """POST a JSON `body` to a link someone gave, by the rules `fetch_image` follows (only
    http(s), every address the host resolves to public, the connection made to the
    vetted address, TLS checked against the host name, one time limit for the whole
    exchange), and answer its status and the start of its body.

    A redirect is answered as it came, never followed. Raises `UnsafeLink` for a link
    Studio will not reach, else `InputImageError` saying why no answer came.
    """
    deadline = time.monotonic() + timeout
    destination = vet_url(url.strip())
    request_headers = {
        "User-Agent": POST_USER_AGENT,
        "Content-Type": "application/json",
        "Connection": "close",
        **headers,
    }
    with _exchange(
        destination,
        deadline=deadline,
        timeout=timeout,
        method="POST",
        headers=request_headers,
        body=body,
    ) as response:
        return PostAnswer(status=response.status, body=_read_start(response))


def _read_start(response: http.client.HTTPResponse) -> bytes:
    """The first POST_ANSWER_MAX_BYTES of the body; the rest is never read (the
    connection is closed)."""
    chunks: list[bytes] = []
    received = 0
    try:
        while received < POST_ANSWER_MAX_BYTES and (
            chunk := response.read1(POST_ANSWER_MAX_BYTES - received)
        ):
            received += len(chunk)
            chunks.append(chunk)
    except (OSError, http.client.HTTPException):
        pass  # the status is the answer; a body cut short only shortens the reason
    return b"".join(chunks)


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to. Tests replace this: they cannot use DNS (or pin
    a made-up name to a local address with FETCH_PINNED_HOSTS)."""
    if host in settings.FETCH_PINNED_HOSTS:
        return [settings.FETCH_PINNED_HOSTS[host]]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_is_allowed(host: str, address: str) -> bool:
    """May Studio connect to `address`, which `host` resolved to?

    Only public addresses are. `host` is here so that a test can admit one made-up host
    name (served on 127.0.0.1) while every other name and address gets the real check.
    """
    if settings.FETCH_PINNED_HOSTS.get(host) == address:
        return True
    return is_public_address(address)


def tls_context() -> ssl.SSLContext:
    """Certificates are checked against certifi's CAs (as `requests` does) and the host name."""
    return ssl.create_default_context(cafile=certifi.where())


def is_public_address(address: str) -> bool:
    """Is this IP address on the public internet (not loopback, private, link-local, …)?"""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one reaches that IPv4 host.
        if ip.ipv4_mapped is not None:
            return is_public_address(str(ip.ipv4_mapped))
        if ip.sixtofour is not None and not is_public_address(str(ip.sixtofour)):
            return False
        if ip.teredo is not None:
            return False
        if ip in NAT64_NETWORK:
            return is_public_address(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
        if ip.scope_id:
            return False
    if any(ip in network for network in BLOCKED_NETWORKS):
        return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class UnsafeLink(InputImageError):
    """A link Studio will not reach, for a reason `reason` states about the link:
    "points to a private address", so that callers can name the link in their own
    sentence ("The --sref link … points to a private address")."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class _Link:
    scheme: str
    host: str  # ASCII, without brackets
    port: int
    path: str
    query: str


def vet_url(url: str) -> _Destination:
    """Check a link and resolve its host; raise `UnsafeLink` unless it is safe to fetch."""
    link = _read_link(url)
    addresses = _vetted_addresses(link, resolve_names=True)
    # Browsers send spaces and non-ASCII letters percent-encoded; so does Studio.
    target = quote(link.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if link.query:
        target += "?" + quote(link.query, safe="/?%:@!$&'()*+,;=-._~")
    return _Destination(
        url=url,
        scheme=link.scheme,
        host=link.host,
        port=link.port,
        addresses=addresses,
        target=target,
    )


def check_public_link(url: str, *, resolve_names: bool = True) -> None:
    """Raise `UnsafeLink` unless `url` is a public http(s) link, by the rules `fetch_image`
    applies before every request: for links that someone else (the provider) will fetch.

    With `resolve_names=False` nothing is looked up: the scheme, credentials and an
    address written as a number are checked, and a host name is taken on trust. That is
    cheap enough to run as a user types; the full check must still run before the link
    is used.
    """
    _vetted_addresses(_read_link(url), resolve_names=resolve_names)


def _read_link(url: str) -> _Link:
    """The parts of an http(s) link, or `UnsafeLink` for anything else."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeLink(
            f"That link is longer than {MAX_URL_LENGTH} characters.",
            reason=f"is longer than {MAX_URL_LENGTH} characters",
        )
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in url):
        raise UnsafeLink(
            "That link contains control characters.", reason="contains control characters"
        )
    invalid = UnsafeLink("That is not a valid link.", reason="is not a valid link")
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port
        hostname = parts.hostname or ""
    except ValueError:
        raise invalid from None
    if scheme not in DEFAULT_PORTS:
        raise UnsafeLink(
            "Only http and https links can be fetched.", reason="is not an http(s) link"
        )
    if parts.username is not None or parts.password is not None:
        raise UnsafeLink(
            "Links with a user name or password cannot be fetched.",
            reason="contains a user name or password",
        )
    if not hostname:
        raise UnsafeLink("That link has no host name.", reason="has no host name")
    if port is None:
        port = DEFAULT_PORTS[scheme]
    if port == 0:
        raise invalid
    return _Link(
        scheme=scheme,
        host=_ascii_host(hostname),
        port=port,
        path=parts.path,
        query=parts.query,
    )


def _literal_addresses(host: str, port: int) -> list[str] | None:
    """The address a host written as a number stands for, without asking DNS: "10.0.0.1",
    "::1", and the old forms "127.1", "2130706433" or "0x7f000001". None for a name."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError):
        return None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _vetted_addresses(link: _Link, *, resolve_names: bool) -> list[str]:
    """Every address the link's host stands for, all of them public, or `UnsafeLink`.
    Without `resolve_names` a host name is not looked up, and gives no addresses."""
    addresses = _literal_addresses(link.host, link.port)
    if addresses is None:
        if not resolve_names:
            return []
        try:
            addresses = resolve(link.host, link.port)
        except (OSError, UnicodeError):
            raise UnsafeLink(
                f"Studio could not find the host {link.host}.",
                reason="names a host Studio could not find",
            ) from None
    if not addresses or not all(address_is_allowed(link.host, address) for address in addresses):
        raise UnsafeLink(PRIVATE_ADDRESS, reason="points to a private address")
    return addresses


def _ascii_host(hostname: str) -> str:
    if hostname.isascii():
        return hostname
    try:
        return idna.encode(hostname, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise UnsafeLink(
            "That link's host name is not valid.", reason="has a host name that is not valid"
        ) from None


class _Watchdog:
    """Closes a socket at the deadline, interrupting whatever read is waiting on it.

    Socket timeouts alone bound each read, not their sum: a server that sends one byte
    per second could hold a fetch forever.
    """

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self.sock = sock
        self.fired = False
        self.timer = threading.Timer(max(seconds, 0.0), self._fire)
        self.timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        try:
            # The plain socket's shutdown, also for TLS: it works from another thread.
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
        except OSError:
            pass


class _VettedConnection(http.client.HTTPConnection):
    """An HTTP connection over a socket already open to a vetted address.

    It never dials on its own: `http.client` would otherwise reconnect by host name,
    asking DNS again.
    """

    def connect(self) -> None:
        raise http.client.NotConnected("a vetted connection cannot reconnect")


@contextmanager
def _exchange(
    destination: _Destination,
    *,
    deadline: float,
    timeout: float,
    method: str = "GET",
    headers: Mapping[str, str] = IMAGE_REQUEST_HEADERS,
    body: bytes = b"",
) -> Iterator[http.client.HTTPResponse]:
    """Send a request (a GET for an image, unless told otherwise) to the vetted address
    and yield the response (status and headers read)."""
    timed_out = _timed_out(timeout)
    sock = _connect(destination, deadline=deadline, timed_out=timed_out)
    watchdog = _Watchdog(sock, deadline - time.monotonic())
    watchdog.timer.start()
    connection = _VettedConnection(destination.host, destination.port)
    try:
        try:
            if destination.scheme == "https":
                sock = _start_tls(sock, destination.host)
                watchdog.sock = sock
            connection.sock = sock
            connection.putrequest(
                method, destination.target, skip_host=True, skip_accept_encoding=True
            )
            connection.putheader("Host", destination.host_header)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.putheader("Accept-Encoding", "identity")
            if method != "GET":
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body if body else None)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException):
            if watchdog.fired or time.monotonic() >= deadline:
                raise timed_out from None
            raise InputImageError("The link did not answer with a valid HTTP response.") from None
        yield response
        if watchdog.fired:  # the body may have ended early because the deadline closed it
            raise timed_out
    except InputImageError:
        if watchdog.fired:
            raise timed_out from None
        raise
    finally:
        watchdog.timer.cancel()
        connection.close()
        sock.close()


def _connect(
    destination: _Destination, *, deadline: float, timed_out: InputImageError
) -> socket.socket:
    """A TCP connection to the first of the vetted addresses that answers."""
    for address in destination.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise timed_out
        try:
            return socket.create_connection((address, destination.port), timeout=remaining)
        except TimeoutError:
            raise timed_out from None
        except OSError:
            continue
    raise InputImageError(f"Studio could not connect to {destination.host}.")


def _start_tls(sock: socket.socket, host: str) -> socket.socket:
    """TLS over the connection to the vetted address, with the certificate checked
    against the link's host name (sent as SNI too)."""
    try:
        return tls_context().wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError:
        raise InputImageError(f"The HTTPS certificate of {host} could not be verified.") from None
    except ssl.SSLError:
        raise InputImageError(f"Studio could not make a secure connection to {host}.") from None


def _read_body(response: http.client.HTTPResponse, *, deadline: float, timeout: float) -> bytes:
    limit = int(settings.INPUT_IMAGE_MAX_BYTES)
    too_large = InputImageTooLarge(f"The image at that link is larger than {describe_size(limit)}.")
    declared = response.getheader("Content-Length")
    expected = int(declared) if declared and declared.strip().isdigit() else None
    if expected is not None and expected > limit:
        raise too_large  # refused before a byte of the body is read
    chunks: list[bytes] = []
    received = 0
    try:
        while chunk := response.read1(CHUNK_BYTES):
            received += len(chunk)
            if received > limit:
                raise too_large
            chunks.append(chunk)
    except (OSError, http.client.HTTPException):
        if time.monotonic() >= deadline:
            raise _timed_out(timeout) from None
        raise InputImageError("The download from that link was cut off.") from None
    if time.monotonic() >= deadline:
        raise _timed_out(timeout)
    if expected is not None and received < expected:
        raise InputImageError("The download from that link was cut off.")
    return b"".join(chunks)


def _timed_out(timeout: float) -> InputImageError:
    seconds = "1 second" if timeout == 1 else f"{timeout:g} seconds"
    return InputImageError(f"The link did not answer within {seconds}.")
