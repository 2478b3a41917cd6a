"""The arithmetic of a payment schedule, written once: what each instalment comes to, so that
together they come to the job's value exactly, to the cent.

The rule:
- A *fixed* instalment is its amount. A *percent* instalment is that share of the value,
  rounded half-up to the currency's minor unit. An instalment already requested (or paid)
  keeps the amount on its invoice, whatever the value does since. Void ones count for nothing.
- The last instalment takes what is left, so the rounding of the others lands on it and the
  schedule adds up exactly. When it is the *balance* ("the rest"), that is all it is. When it
  is a percent or fixed instalment, the schedule must add up before rounding: the fixed
  amounts, the requested amounts and the shares must come to the value.
- Every instalment comes to something (more than zero), and nothing comes to less than zero.
- Only the last instalment can be the balance.

``spread`` applies it and raises ``ScheduleError`` with a message for the person typing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from jobline.billing.models import AmountKind
from jobline.quotes.totals import minor_unit, round_money

HUNDRED = Decimal(100)
ZERO = Decimal(0)
SHARE_PLACES = Decimal("0.0001")  # what a share is stored to


class ScheduleError(ValueError):
    """The schedule cannot be worked out; ``row`` is the instalment at fault (None: all)."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


@dataclass(frozen=True)
class Part:
    """What the rule reads of one instalment."""

    kind: str  # AmountKind
    percent: Decimal | None = None  # PERCENT
    amount: Decimal | None = None  # FIXED's typed amount; a frozen one's invoiced amount
    frozen: bool = False  # requested or paid: its amount stays
    void: bool = False  # counts for nothing


def money_words(amount: Decimal, currency: str) -> str:
    """An amount in a message: 1,234.50 GBP."""
    return f"{amount.quantize(minor_unit(currency)):,} {currency}"


def _nominal(part: Part, value: Decimal) -> Decimal:
    """The part before rounding (the balance has none of its own)."""
    if part.frozen or part.kind == AmountKind.FIXED:
        return part.amount or ZERO
    if part.kind == AmountKind.PERCENT:
        return value * (part.percent or ZERO) / HUNDRED
    return ZERO


def checked_part(part: Part, row: int, currency: str = "") -> None:
    """One part on its own: a share in (0, 100], an amount above zero (to the currency's minor
    unit, when given)."""
    if part.frozen or part.void:
        return
    if part.kind == AmountKind.PERCENT:
        if part.percent is None:
            raise ScheduleError("Give the share of the value, in %.", row)
        if not ZERO < part.percent <= HUNDRED:
            raise ScheduleError("A share is more than 0 % and at most 100 %.", row)
        if part.percent != part.percent.quantize(SHARE_PLACES):
            raise ScheduleError("Give the share with at most 4 decimal places.", row)
    elif part.kind == AmountKind.FIXED:
        if part.amount is None:
            raise ScheduleError("Give the amount.", row)
        if part.amount <= ZERO:
            raise ScheduleError("An amount is more than zero.", row)
        if currency and part.amount != round_money(part.amount, currency):
            raise ScheduleError(f"Give the amount to the {minor_unit(currency)}.", row)
    elif part.kind != AmountKind.BALANCE:
        raise ScheduleError("Choose how the amount is given.", row)


def check_value(value: Decimal, currency: str) -> None:
    """A job's value: nothing below zero, nothing finer than the currency's minor unit."""
    if value < ZERO:
        raise ScheduleError("A job's value can't be negative.")
    if value != round_money(value, currency):
        raise ScheduleError(f"Give the value to the {minor_unit(currency)}.")


def spread(value: Decimal | None, parts: Sequence[Part], currency: str) -> list[Decimal]:
    """Each part's amount, in order (0 for void ones). Raises ScheduleError."""
    if value is None:
        raise ScheduleError("Give the job a value first: the schedule is worked out from it.")
    check_value(value, currency)
    live = [index for index, part in enumerate(parts) if not part.void]
    if not live:
        raise ScheduleError("Add at least one instalment.")
    for index, part in enumerate(parts):
        checked_part(part, index, currency)
        if part.kind == AmountKind.BALANCE and not (part.frozen or part.void) and index != live[-1]:
            raise ScheduleError("Only the last instalment can be the balance.", index)
    frozen_total = sum((p.amount or ZERO for p in parts if p.frozen and not p.void), ZERO)
    if frozen_total > value:
        raise ScheduleError(
            f"{money_words(frozen_total, currency)} is already requested: the value can't be "
            f"less than that."
        )
    amounts = [ZERO] * len(parts)
    for index in live[:-1]:
        part = parts[index]
        amounts[index] = round_money(_nominal(part, value), currency)
    last = live[-1]
    rest = value - sum(amounts, ZERO)
    if rest < ZERO:
        raise ScheduleError(
            f"The instalments come to {money_words(value - rest, currency)}, more than the "
            f"value of {money_words(value, currency)}.",
            last,
        )
    final = parts[last]
    if final.frozen:
        if rest != final.amount:
            raise ScheduleError(
                f"Every instalment to the last is already requested and they come to "
                f"{money_words(value - rest + (final.amount or ZERO), currency)}, not "
                f"{money_words(value, currency)}: add an instalment for the rest, or void one.",
                last,
            )
    elif final.kind != AmountKind.BALANCE:
        before_rounding = sum((_nominal(parts[i], value) for i in live), ZERO)
        if before_rounding != value:
            raise ScheduleError(
                f"The instalments come to {money_words(before_rounding, currency)} but the "
                f"value is {money_words(value, currency)}: make the last one the balance, or "
                f"change an amount.",
                last,
            )
    amounts[last] = rest
    for index in live:
        if amounts[index] <= ZERO:
            raise ScheduleError(
                "This instalment would come to nothing: remove it, or change the others.",
                index,
            )
    return amounts
