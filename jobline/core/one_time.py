"""One-time tokens of create forms: a double-clicked form is stored (and sent) once."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms
from django.db import IntegrityError, transaction

from jobline.core.models import SubmittedForm

TOKEN_MAX_LENGTH = 64


def new_token() -> str:
    return secrets.token_urlsafe(18)


class OneTimeTokenField(forms.CharField):
    """The hidden one-time token of a create form: a fresh one each time the form is drawn,
    the submitted one kept when a refused form is drawn again (so a corrected resubmission
    is still the same submission, and is still stored once)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", TOKEN_MAX_LENGTH)
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("initial", new_token)
        super().__init__(**kwargs)


class AlreadySubmitted(Exception):
    """This form was submitted before; ``result`` says what that submission made."""

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__("This form was already submitted.")
        self.result = result


def claim(*, token: str | None, user: Any) -> SubmittedForm | None:
    """Record the token inside the caller's transaction, or raise AlreadySubmitted.

    Two submissions racing each other queue on the unique row: the second waits for the
    first to commit, then finds it. No token (an API call, an old page) claims nothing."""
    if not token or user is None or not getattr(user, "pk", None):
        return None
    try:
        with transaction.atomic():
            return SubmittedForm.objects.create(user=user, token=token[:TOKEN_MAX_LENGTH])
    except IntegrityError:
        first = SubmittedForm.objects.filter(user=user, token=token[:TOKEN_MAX_LENGTH]).first()
        raise AlreadySubmitted(first.result if first is not None else {}) from None


def record(submission: SubmittedForm | None, **result: Any) -> None:
    """What the submission made, for a repeat to show."""
    if submission is not None:
        submission.result = result
        submission.save(update_fields=["result"])
