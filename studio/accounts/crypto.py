"""Encryption at rest for secrets Studio keeps (the teams' provider API keys).

MultiFernet over every key in STUDIO_ENCRYPTION_KEY: the first encrypts, all decrypt,
so the encryption key can be rotated without losing what was stored.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.STUDIO_ENCRYPTION_KEYS])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with STUDIO_ENCRYPTION_KEY; "
            "was the key changed without keeping the old one?"
        ) from None
