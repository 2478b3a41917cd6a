"""Django's database sessions, read through a prepared query (core/prepared.py): the session
is the first query of every signed-in page, and compiling it cost more than running it."""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from jobline.core.prepared import PreparedQuery

_LIVE_SESSION = PreparedQuery(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now)[:1],
    name="session",
    texts=("key",),
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        found = _LIVE_SESSION.list(key=self.session_key, now=timezone.now())
        if found:
            return found[0]
        self._session_key = None
        return None
