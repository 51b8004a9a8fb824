"""Log redaction: the provider echoes a task's webhook secret (and clients may log an API
key); whatever a log record carries, such values never reach the log."""

import logging
import re
from typing import Any

SECRET_FIELDS = re.compile(r"secret|api[-_]?key|password|token|authorization", re.IGNORECASE)
# "secret": "…" in JSON text, x-api-key: … in header dumps
SECRET_IN_TEXT = re.compile(
    r"""(?P<key>["']?(?:secret|x-api-key|api[-_]?key|password|token|x-webhook-secret)["']?\s*[:=]\s*)"""
    r"""(?P<quote>["']?)(?P<value>[^"'\s,}]+)""",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    """A copy of `value` with secrets replaced, whatever its shape."""
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and SECRET_FIELDS.search(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(redact(item) for item in value)
    if isinstance(value, str):
        return SECRET_IN_TEXT.sub(lambda m: f"{m['key']}{m['quote']}{REDACTED}", value)
    return value


class RedactSecrets(logging.Filter):
    """Redacts the formatted message, so a secret is caught wherever it came from."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args
            record.args = redact(args) if isinstance(args, dict) else tuple(redact(a) for a in args)
        record.msg = redact(record.getMessage())
        record.args = None
        return True


class ExpectedRefusalsInOneLine(logging.Filter):
    """A refused request (PermissionDenied: someone asked for what their role does not
    allow) is expected, not a fault: its log line stays, its traceback goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        from django.core.exceptions import PermissionDenied

        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            reason = str(record.exc_info[1])
            record.exc_info = None
            record.exc_text = None
            if reason:
                record.msg = f"{record.getMessage()} ({reason})"
                record.args = None
        return True
