"""Services own their transactions.

``@service`` makes a function a top-level service: it runs in a durable transaction of its
own (``atomic(durable=True)``), so no caller can wrap it in a bigger transaction by accident
and a committed service is really committed. A composite service that needs another service's
work inside its own transaction calls ``other.step(...)``: the same function, in a savepoint
of the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Generic, ParamSpec, TypeVar

from django.db import transaction

P = ParamSpec("P")
R = TypeVar("R")


class Service(Generic[P, R]):
    def __init__(self, func: Callable[P, R]) -> None:
        self.func = func
        update_wrapper(self, func)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic(durable=True):
            return self.func(*args, **kwargs)

    def step(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """The service's work as one step of the caller's transaction (a savepoint)."""
        with transaction.atomic():
            return self.func(*args, **kwargs)


def service(func: Callable[P, R]) -> Service[P, R]:
    return Service(func)
