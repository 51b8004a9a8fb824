"""A local web server for the fetch tests, reachable under a made-up public host name.

Tests cannot reach the internet. `images_site` serves on 127.0.0.1 and admits the one
host name TEST_HOST to it: the resolver maps that name to 127.0.0.1 and the address
check lets that name (and only that name) through. Every other host and address,
including a redirect to http://127.0.0.1 itself, gets the real checks.
"""

import datetime
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from studio.inputs import fetch
from tests.inputs.images import image_bytes

TEST_HOST = "images.test"
PNG = image_bytes("PNG", size=(400, 300), color="#2a9d8f")


@dataclass
class Site:
    url: str  # http(s)://images.test:<port>
    port: int
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)

    def paths(self) -> list[str]:
        return [path for path, _host in self.requests]


class Handler(BaseHTTPRequestHandler):
    server: "SiteServer"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.site.requests.append((self.path, self.headers.get("Host", "")))
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        route = parts.path
        if route.endswith(".png"):
            self.send_body(PNG, "image/png")
        elif route == "/notes.txt":
            self.send_body(b"not a picture\n" * 30, "text/plain")
        elif route == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route.startswith("/hop/"):
            hop = int(route.removeprefix("/hop/"))
            if hop < int(query["until"]):
                self.send_response(302)
                self.send_header("Location", f"/hop/{hop + 1}?until={query['until']}")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_body(PNG, "image/png")
        elif route == "/redirect-nowhere":
            self.send_response(302)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(PNG[:100])
        elif route == "/huge-streamed":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(10):
                self.wfile.write(b"\x00" * 1000)
        elif route == "/slow":
            time.sleep(2)
            self.send_body(PNG, "image/png")
        elif route in ("/trickle", "/trickle-unsized"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            if route == "/trickle":
                self.send_header("Content-Length", str(len(PNG)))
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            for byte in PNG[:40]:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.05)
        elif route == "/cut-off":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG[:100])
        else:
            self.send_body(b"no such page", "text/plain", status=404)

    def send_body(self, body: bytes, content_type: str, *, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    site: Site

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that give up (timeouts, refusals) are what these tests are about


def serve(*, tls: ssl.SSLContext | None = None) -> Iterator[Site]:
    server = SiteServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    server.site = Site(url=f"{'https' if tls else 'http'}://{TEST_HOST}:{port}", port=port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server.site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def admit_test_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """TEST_HOST resolves to 127.0.0.1 and is let through; nothing else changes."""
    real_resolve, real_check = fetch.resolve, fetch.address_is_allowed

    def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == TEST_HOST else real_resolve(host, port)

    def address_is_allowed(host: str, address: str) -> bool:
        if host == TEST_HOST and address == "127.0.0.1":
            return True
        return real_check(host, address)

    monkeypatch.setattr(fetch, "resolve", resolve)
    monkeypatch.setattr(fetch, "address_is_allowed", address_is_allowed)


@pytest.fixture
def images_site(admit_test_host: None) -> Iterator[Site]:
    yield from serve()


# --- TLS: a test certificate authority, and certificates for two names ---------------


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    chains: dict[str, tuple[Path, Path]]  # host name -> (certificate, key)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Studio test CA"))
        .issuer_name(_name("Studio test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chains = {}
    for host in (TEST_HOST, "other.test"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(host))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_file, key_file = folder / f"{host}.pem", folder / f"{host}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        chains[host] = (cert_file, key_file)
    return Certificates(ca_file=ca_file, chains=chains)


def _server_context(certificates: Certificates, host: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert_file, key_file = certificates.chains[host]
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture
def trust_test_ca(certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        fetch, "tls_context", lambda: ssl.create_default_context(cafile=certificates.ca_file)
    )


@pytest.fixture
def secure_images_site(admit_test_host: None, certificates: Certificates) -> Iterator[Site]:
    """https://images.test:<port> with a certificate for images.test."""
    yield from serve(tls=_server_context(certificates, TEST_HOST))


@pytest.fixture
def impostor_site(admit_test_host: None, certificates: Certificates) -> Iterator[Site]:
    """https://images.test:<port>, but its certificate is for other.test."""
    yield from serve(tls=_server_context(certificates, "other.test"))
