"""The public page's key: derived from the quote's random uid with the server's secret key, so
the staff page can show the link again while the database holds only its hash (a copy of the
database alone opens no quote)."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from django.conf import settings


def token_for(uid: uuid.UUID) -> str:
    message = f"jobline.quote:{uid}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
