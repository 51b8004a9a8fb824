"""Mail in development: Django's console backend, printed for a person to read.

Django prints a message as it would travel, and a line longer than 78 characters (a
password reset link) travels quoted-printable, cut by "=" line breaks a browser will
not follow. This backend prints the headers a person looks for and the text as written,
so `make run` shows a link that can be clicked or copied whole.
"""

from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends import console


class ReadableConsoleBackend(console.EmailBackend):
    def write_message(self, message: Any) -> None:
        if not isinstance(message, EmailMessage):
            super().write_message(message)
            return
        headers = message.message()
        for name in ("Subject", "From", "To", "Date"):
            self.stream.write(f"{name}: {headers[name]}\n")
        self.stream.write(f"\n{message.body}\n")
        self.stream.write("-" * 79 + "\n")
