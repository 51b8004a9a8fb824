"""Typed readers for settings that come from environment variables.

Each one fails loudly on a value it cannot read, so a typo in a deployment stops
start-up instead of silently falling back to a default.
"""

import ipaddress
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated IP networks and addresses (`10.0.0.0/8,127.0.0.1,::1`); an address
    is a network of one. A network with host bits set (`10.0.0.1/8`) is refused as a typo."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as problem:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or networks such as 10.0.0.0/8; "
                f"{item!r} is not one ({problem})."
            ) from None
    return networks


# How EMAIL_URL names Django's mail backends, and the port each SMTP flavour defaults to.
EMAIL_BACKENDS = {
    # Django's console backend, printing each mail's text as written (studio/mail.py).
    "console": "studio.mail.ReadableConsoleBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
SMTP_SCHEMES = {
    "smtp": (25, ""),
    "smtp+tls": (587, "tls"),
    "smtp+ssl": (465, "ssl"),
    "smtps": (465, "ssl"),
}
EMAIL_URL_EXAMPLE = "smtp://user:password@mail.example.com:587?tls=1"


def env_email(name: str, default: str = "console://") -> dict[str, Any]:
    """Django's default mailer (an entry of MAILERS) from one URL: `console://` (mail
    printed on standard output), `smtp://user:password@host:port` with `?tls=1`
    (STARTTLS) or `?ssl=1` (`smtp+tls://`, `smtp+ssl://` and `smtps://` say the same),
    `?timeout=seconds`, `file:///folder`, `locmem://`, `dummy://`. User and password are
    percent-decoded."""
    raw = os.environ.get(name, "").strip() or default

    def refuse(why: str) -> ImproperlyConfigured:
        # Never the URL itself: it may hold the mail server's password.
        return ImproperlyConfigured(f"{name} {why} (e.g. {EMAIL_URL_EXAMPLE}, or console://).")

    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise refuse("has a port that is not a number") from None
    scheme = parts.scheme.lower()
    try:
        options = {
            key: values[-1]
            for key, values in parse_qs(parts.query, strict_parsing=bool(parts.query)).items()
        }
    except ValueError:
        raise refuse("has a query that does not read as key=value") from None
    if scheme in SMTP_SCHEMES:
        return _smtp_settings(scheme, parts, port, options, refuse)
    if scheme not in EMAIL_BACKENDS:
        known = ", ".join(sorted({*EMAIL_BACKENDS, *SMTP_SCHEMES}))
        raise refuse(f"must start with one of {known}://; got {scheme or 'no scheme'!r}")
    if options:
        raise refuse(f"takes no options with {scheme}://; got {', '.join(sorted(options))}")
    if scheme == "file":
        if not parts.path:
            raise refuse("must name a folder with file://, as file:///var/mail/studio")
        return {"BACKEND": EMAIL_BACKENDS[scheme], "OPTIONS": {"file_path": unquote(parts.path)}}
    return {"BACKEND": EMAIL_BACKENDS[scheme]}


def _smtp_settings(
    scheme: str,
    parts: SplitResult,
    port: int | None,
    options: dict[str, str],
    refuse: Callable[[str], ImproperlyConfigured],
) -> dict[str, Any]:
    default_port, security = SMTP_SCHEMES[scheme]
    unknown = set(options) - {"tls", "ssl", "timeout"}
    if unknown:
        raise refuse(f"has options Studio does not know: {', '.join(sorted(unknown))}")
    for option in ("tls", "ssl"):
        if option in options:
            word = options[option].strip().lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                raise refuse(f"needs {option}=1 or {option}=0; got {option}={options[option]!r}")
            if word in TRUE_WORDS:
                if security and security != option:
                    raise refuse("asks for both TLS and SSL; choose one")
                security = option
                default_port = 587 if option == "tls" else 465
    try:
        timeout = float(options.get("timeout", "10"))
    except ValueError:
        raise refuse(f"needs timeout in seconds; got timeout={options['timeout']!r}") from None
    if not parts.hostname:
        raise refuse("names no mail server")
    return {
        "BACKEND": EMAIL_BACKENDS["smtp"],
        "OPTIONS": {
            "host": parts.hostname,
            "port": port or default_port,
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_tls": security == "tls",
            "use_ssl": security == "ssl",
            "timeout": timeout,
        },
    }
