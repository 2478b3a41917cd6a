"""One-time tokens for links in e-mails: random, and stored only as their hash."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """A leaked database row cannot be turned into a working link."""
    return hashlib.sha256(token.encode()).hexdigest()
