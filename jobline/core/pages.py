"""A list counted by a query of its own, for Django's Paginator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Counted:
    """What the paginator needs of a list whose count was taken apart from its rows: the
    count, and the rows to slice (a queryset), or none when the caller reads the page's rows
    itself (the jobs list) and puts them on the page."""

    ordered = True

    def __init__(self, count: int, rows: Sequence[Any] = ()) -> None:
        self._count, self.rows = count, rows

    def count(self) -> int:
        return self._count

    def __getitem__(self, index: slice) -> Sequence[Any]:
        return self.rows[index]
