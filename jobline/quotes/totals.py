"""The one place a quote's amounts are computed. The page, the PDF, the portal, the CSV, the
acceptance record, the conversion (and later the API) all read these numbers.

The rule, written once:

1. **A line's amount** is quantity × unit price × (1 − discount %), rounded half-up to the
   currency's minor unit (2 places for GBP, 0 for JPY). That is the amount the quote shows
   on the line. A 100 % discount makes it 0.
2. **Only the lines that count** add up: every line that is not optional, and the optional
   lines the customer ticked.
3. **Tax-exclusive prices** (the default): the subtotal is the sum of the line amounts. For
   each tax rate, the tax is the sum of that rate's line amounts × the rate, rounded once,
   half-up (the Australian GST rule: sum the unrounded tax per rate, round once). The total
   is the subtotal plus every rate's tax.
4. **Tax-inclusive prices**: a line's amount includes its tax. For each rate, the tax in it is
   that rate's line amounts × rate / (100 + rate), rounded once, half-up; the subtotal is the
   total less the tax. The total is the sum of the line amounts.
5. **Per-line rounding** (a workspace option, for tax authorities that want it): each line's
   tax is rounded on its own (half-up) before the rate's taxes are added up.
6. **The deposit** is a percent of the total, rounded half-up, or a fixed amount; never more
   than the total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision

HUNDRED = Decimal(100)
ZERO = Decimal(0)


class Rounding:
    PER_RATE = "per_rate"  # the default: sum the unrounded tax per rate, round once
    PER_LINE = "per_line"


@lru_cache(maxsize=64)
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of the currency: Decimal('0.01') for GBP, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    """What the rule reads of a line (a QuoteLine, or the form's row before it is saved)."""

    key: object  # the line's id, or its position in a form
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    tax_percent: Decimal
    tax_name: str
    optional: bool


@dataclass(frozen=True)
class TaxLine:
    name: str
    percent: Decimal
    base: Decimal  # the line amounts it is on
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    currency: str
    amounts: dict[object, Decimal]  # every line's amount (optional ones too), by key
    counted: frozenset[object]  # the keys of the lines that add up
    subtotal: Decimal
    taxes: tuple[TaxLine, ...]
    tax: Decimal
    total: Decimal
    deposit: Decimal


def line_amount(line: Line, currency: str) -> Decimal:
    gross = line.quantity * line.unit_price * (HUNDRED - line.discount_percent) / HUNDRED
    return round_money(gross, currency)


def compute(
    lines: Sequence[Line],
    *,
    currency: str,
    prices_include_tax: bool,
    rounding: str = Rounding.PER_RATE,
    ticked: Iterable[object] = (),
    deposit_kind: str = "none",
    deposit_value: Decimal = ZERO,
) -> Totals:
    ticked_keys = set(ticked)
    amounts = {line.key: line_amount(line, currency) for line in lines}
    counted = [line for line in lines if not line.optional or line.key in ticked_keys]
    by_rate: dict[tuple[Decimal, str], list[Line]] = {}
    for line in counted:
        by_rate.setdefault((line.tax_percent, line.tax_name), []).append(line)
    taxes = []
    for (percent, name), rate_lines in sorted(by_rate.items(), key=lambda item: item[0]):
        base = sum((amounts[line.key] for line in rate_lines), ZERO)
        factor = percent / (HUNDRED + percent) if prices_include_tax else percent / HUNDRED
        if rounding == Rounding.PER_LINE:
            tax = sum(
                (round_money(amounts[line.key] * factor, currency) for line in rate_lines), ZERO
            )
        else:
            tax = round_money(base * factor, currency)
        if percent:
            taxes.append(TaxLine(name=name, percent=percent, base=base, tax=tax))
    tax_total = sum((t.tax for t in taxes), ZERO)
    line_sum = sum((amounts[line.key] for line in counted), ZERO)
    if prices_include_tax:
        total, subtotal = line_sum, line_sum - tax_total
    else:
        subtotal, total = line_sum, line_sum + tax_total
    deposit = deposit_of(total, kind=deposit_kind, value=deposit_value, currency=currency)
    return Totals(
        currency=currency,
        amounts=amounts,
        counted=frozenset(line.key for line in counted),
        subtotal=subtotal,
        taxes=tuple(taxes),
        tax=tax_total,
        total=total,
        deposit=deposit,
    )


def deposit_of(total: Decimal, *, kind: str, value: Decimal, currency: str) -> Decimal:
    """Rule 6: a percent of the total, rounded half-up, or a fixed amount; at most the total."""
    if kind == "percent":
        return round_money(total * value / HUNDRED, currency)
    if kind == "fixed":
        return min(round_money(value, currency), total)
    return ZERO


def lines_of(quote_lines: Iterable[object]) -> list[Line]:
    """The rule's view of saved QuoteLine rows."""
    return [
        Line(
            key=row.pk,  # type: ignore[attr-defined]
            quantity=row.quantity,  # type: ignore[attr-defined]
            unit_price=row.unit_price,  # type: ignore[attr-defined]
            discount_percent=row.discount_percent,  # type: ignore[attr-defined]
            tax_percent=row.tax_percent,  # type: ignore[attr-defined]
            tax_name=row.tax_name,  # type: ignore[attr-defined]
            optional=row.optional,  # type: ignore[attr-defined]
        )
        for row in quote_lines
    ]


def of_quote(quote: object, lines: Sequence[object], *, ticked: Iterable[object] = ()) -> Totals:
    """A saved quote's totals with ``ticked`` optional lines (its own currency and rounding,
    kept from when it was written)."""
    return compute(
        lines_of(lines),
        currency=quote.currency,  # type: ignore[attr-defined]
        prices_include_tax=quote.prices_include_tax,  # type: ignore[attr-defined]
        rounding=quote.tax_rounding,  # type: ignore[attr-defined]
        ticked=ticked,
        deposit_kind=quote.deposit_kind,  # type: ignore[attr-defined]
        deposit_value=quote.deposit_value,  # type: ignore[attr-defined]
    )
