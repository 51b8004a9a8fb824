"""Forwarded headers count only from trusted proxies: parsing, one scope at a time."""

import ipaddress
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from studio.env import env_networks
from studio.security.proxies import forwarded_scope, parse_address

TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:aa::/48")]


def scope(
    peer: str | None, *, forwarded_for: str = "", proto: str = "", kind: str = "http"
) -> dict[str, Any]:
    headers = [(b"host", b"studio.example")]
    if forwarded_for:
        headers.append((b"x-forwarded-for", forwarded_for.encode()))
    if proto:
        headers.append((b"x-forwarded-proto", proto.encode()))
    return {
        "type": kind,
        "client": [peer, 51000] if peer else None,
        "scheme": "ws" if kind == "websocket" else "http",
        "headers": headers,
    }


def client_of(peer: str | None, forwarded_for: str = "") -> str | None:
    client = forwarded_scope(scope(peer, forwarded_for=forwarded_for), TRUSTED)["client"]
    return client[0] if client else None


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert client_of("198.51.100.4", "203.0.113.9") == "198.51.100.4"
    untouched = scope("198.51.100.4", forwarded_for="203.0.113.9", proto="https")
    assert forwarded_scope(untouched, TRUSTED) == untouched


def test_a_trusted_proxy_names_the_client() -> None:
    assert client_of("10.1.2.3", "203.0.113.9") == "203.0.113.9"


def test_addresses_a_client_wrote_itself_are_ignored() -> None:
    # The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended what it saw.
    assert client_of("10.1.2.3", "1.1.1.1, 203.0.113.9") == "203.0.113.9"
    # A chain of trusted proxies is skipped from the right.
    assert client_of("10.1.2.3", "1.1.1.1, 203.0.113.9, 10.9.9.9, 10.0.0.7") == "203.0.113.9"


def test_spoofed_trusted_addresses_left_of_the_client_do_not_help() -> None:
    assert client_of("10.1.2.3", "10.5.5.5, 203.0.113.9") == "203.0.113.9"


def test_a_client_inside_the_trusted_network_is_the_left_most_address() -> None:
    assert client_of("10.1.2.3", "10.200.0.1, 10.0.0.7") == "10.200.0.1"


def test_several_header_lines_read_as_one_list() -> None:
    both = scope("10.1.2.3")
    both["headers"] += [(b"x-forwarded-for", b"1.1.1.1"), (b"X-Forwarded-For", b"203.0.113.9")]
    assert forwarded_scope(both, TRUSTED)["client"] == ("203.0.113.9", 0)


def test_ipv6_clients_and_proxies() -> None:
    assert client_of("2001:db8:aa::5", "2001:db8:ff::1") == "2001:db8:ff::1"
    assert client_of("10.1.2.3", "[2001:db8:ff::1]:4711") == "2001:db8:ff::1"
    assert client_of("10.1.2.3", "2001:DB8:FF:0:0:0:0:1") == "2001:db8:ff::1"
    # A dual-stack socket reports an IPv4 proxy as an IPv4-mapped IPv6 address.
    assert client_of("::ffff:10.1.2.3", "203.0.113.9") == "203.0.113.9"
    assert client_of("2001:db8:bb::5", "203.0.113.9") == "2001:db8:bb::5"  # not trusted


def test_ports_are_dropped_from_forwarded_ipv4_addresses() -> None:
    assert client_of("10.1.2.3", "203.0.113.9:5120") == "203.0.113.9"


@pytest.mark.parametrize(
    "garbage", ["unknown", "not-an-address", "203.0.113.999", "[2001:db8::1", "<script>", "_hidden"]
)
def test_garbage_where_the_client_should_be_leaves_the_proxy_as_the_client(garbage: str) -> None:
    assert client_of("10.1.2.3", f"203.0.113.9, {garbage}") == "10.1.2.3"
    # Garbage further left than the client does not matter.
    assert client_of("10.1.2.3", f"{garbage}, 203.0.113.9") == "203.0.113.9"


def test_an_empty_header_leaves_the_proxy_as_the_client() -> None:
    assert client_of("10.1.2.3", " , ") == "10.1.2.3"


def test_a_connection_without_an_address_is_left_alone() -> None:
    assert client_of(None, "203.0.113.9") is None


def test_the_scheme_comes_from_a_trusted_proxy_only() -> None:
    assert forwarded_scope(scope("10.1.2.3", proto="https"), TRUSTED)["scheme"] == "https"
    assert forwarded_scope(scope("198.51.100.4", proto="https"), TRUSTED)["scheme"] == "http"
    # The last value is the one the proxy set; anything else is ignored.
    assert forwarded_scope(scope("10.1.2.3", proto="https, http"), TRUSTED)["scheme"] == "http"
    assert forwarded_scope(scope("10.1.2.3", proto="gopher"), TRUSTED)["scheme"] == "http"


def test_websockets_get_the_websocket_schemes() -> None:
    secure = forwarded_scope(
        scope("10.1.2.3", forwarded_for="203.0.113.9", proto="https", kind="websocket"), TRUSTED
    )
    assert (secure["scheme"], secure["client"]) == ("wss", ("203.0.113.9", 0))


def test_trusted_proxies_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")
    assert [str(network) for network in env_networks("STUDIO_TRUSTED_PROXIES")] == [
        "10.0.0.0/8",
        "127.0.0.1/32",
        "::1/128",
    ]
    monkeypatch.setenv("STUDIO_TRUSTED_PROXIES", "")
    assert env_networks("STUDIO_TRUSTED_PROXIES") == []


@pytest.mark.parametrize("value", ["10.0.0.1/8", "load-balancer", "10.0.0.0/33", "*"])
def test_a_malformed_trusted_proxy_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("STUDIO_TRUSTED_PROXIES", f"127.0.0.1,{value}")
    with pytest.raises(ImproperlyConfigured, match="STUDIO_TRUSTED_PROXIES"):
        env_networks("STUDIO_TRUSTED_PROXIES")


def test_addresses_are_read_as_proxies_write_them() -> None:
    assert str(parse_address(" 203.0.113.9 ")) == "203.0.113.9"
    assert str(parse_address("[::1]")) == "::1"
    assert parse_address("") is None
    assert parse_address("1.2.3.4:80:90") is None
