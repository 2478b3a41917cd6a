"""Word-prefix search, as the jobs list and the quote list offer it: every word typed must
start a word of the text ("bath" finds "Bathroom tiles"), answered from an index.

PostgreSQL matches a GIN-indexed ``to_tsvector('simple', …)``; SQLite an FTS5 table kept in
step with its table by triggers (jobs migration 0006, quotes migration 0003). A LIKE
'%word%' would read every row (half a second at 100,000 jobs in bench/).
"""

from __future__ import annotations

import re

from django.db import connection


def prefix_match(text: str) -> str:
    """The full-text match of ``text`` for this database: each word (letters, digits and
    underscores kept, so nothing typed is query syntax) as a prefix, all of them required;
    "" when nothing searchable is left."""
    words = [w for w in (re.sub(r"[^\w]", "", t) for t in text.split()) if w]
    if not words:
        return ""
    if connection.vendor == "postgresql":
        return " & ".join(f"{w}:*" for w in words)
    return " ".join(f'"{w}"*' for w in words)
