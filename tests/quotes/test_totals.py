"""The rounding rule of totals.py against an oracle written here from its docstring alone.

The oracle works in exact fractions (fractions.Fraction) and rounds half-up to the
currency's minor unit with its own floor arithmetic; nothing of totals.py is used to compute
an expectation. The property runs over thousands of random quotes: exclusive and inclusive
prices, per-rate and per-line rounding, optional lines ticked or not, GBP and JPY, deposits.
A test with the rounding switched to half-even shows the property catches a wrong rule.

Then the same totals on every surface that shows them: the staff page, the public page, the
PDF (status and type only: its text is font-encoded) and the CSV export. The portal's list
shows no amounts, so it is not checked here.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from jobline.quotes import services, tokens, totals
from jobline.quotes.models import Quote, TaxRate
from jobline.quotes.services import LineInput
from tests.conftest import Cast, client_for

D = Decimal
NOTHING = Decimal(0)
PLACES = {"GBP": 2, "JPY": 0}  # the minor units, as written in the rule (not from babel)
HUNDRED = Fraction(100)


# ----------------------------------------------------------------------------- the oracle


@dataclass(frozen=True)
class OracleLine:
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = NOTHING
    rate: tuple[Decimal, str] | None = None  # (percent, name); None: no tax rate
    optional: bool = False
    ticked: bool = False


@dataclass(frozen=True)
class Example:
    lines: tuple[OracleLine, ...]
    currency: str = "GBP"
    inclusive: bool = False
    per_line: bool = False
    deposit_kind: str = "none"
    deposit_value: Decimal = NOTHING
    # Keys passed as ticked that must change nothing (non-optional lines, unknown keys).
    noise_ticked: tuple[object, ...] = field(default=())


@dataclass(frozen=True)
class Expected:
    amounts: dict[int, Fraction]
    subtotal: Fraction
    taxes: dict[tuple[Fraction, str], Fraction]  # only rates above 0 %
    tax: Fraction
    total: Fraction
    deposit: Fraction


def half_up(value: Fraction, places: int) -> Fraction:
    """Round a non-negative exact value to ``places`` decimals, a half going up."""
    assert value >= 0
    scale = 10**places
    return Fraction(math.floor(value * scale + Fraction(1, 2)), scale)


def oracle(example: Example) -> Expected:
    places = PLACES[example.currency]
    amounts = {
        i: half_up(
            Fraction(line.quantity)
            * Fraction(line.unit_price)
            * (HUNDRED - Fraction(line.discount_percent))
            / HUNDRED,
            places,
        )
        for i, line in enumerate(example.lines)
    }
    counted = [i for i, line in enumerate(example.lines) if not line.optional or line.ticked]
    by_rate: dict[tuple[Fraction, str], list[Fraction]] = {}
    for i in counted:
        rate = example.lines[i].rate
        if rate is not None and rate[0] != 0:
            by_rate.setdefault((Fraction(rate[0]), rate[1]), []).append(amounts[i])
    taxes = {}
    for (percent, name), rate_amounts in by_rate.items():
        factor = percent / (HUNDRED + percent) if example.inclusive else percent / HUNDRED
        if example.per_line:
            taxes[(percent, name)] = sum((half_up(a * factor, places) for a in rate_amounts),
                                         Fraction(0))  # fmt: skip
        else:
            taxes[(percent, name)] = half_up(sum(rate_amounts, Fraction(0)) * factor, places)
    tax = sum(taxes.values(), Fraction(0))
    line_sum = sum((amounts[i] for i in counted), Fraction(0))
    if example.inclusive:
        total, subtotal = line_sum, line_sum - tax
    else:
        subtotal, total = line_sum, line_sum + tax
    if example.deposit_kind == "percent":
        deposit = half_up(total * Fraction(example.deposit_value) / HUNDRED, places)
    elif example.deposit_kind == "fixed":
        deposit = min(half_up(Fraction(example.deposit_value), places), total)
    else:
        deposit = Fraction(0)
    return Expected(amounts, subtotal, taxes, tax, total, deposit)


def as_decimal(value: Fraction, places: int) -> Decimal:
    """An oracle amount (a whole number of minor units) as the Decimal a page prints."""
    scaled = value * 10**places
    assert scaled.denominator == 1
    return D(scaled.numerator).scaleb(-places)


def compute(example: Example) -> totals.Totals:
    """What totals.py makes of the example (the thing under test)."""
    lines = [
        totals.Line(
            key=i,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            tax_percent=line.rate[0] if line.rate else D(0),
            tax_name=line.rate[1] if line.rate else "",
            optional=line.optional,
        )
        for i, line in enumerate(example.lines)
    ]
    ticked = [i for i, line in enumerate(example.lines) if line.optional and line.ticked]
    return totals.compute(
        lines,
        currency=example.currency,
        prices_include_tax=example.inclusive,
        rounding=totals.Rounding.PER_LINE if example.per_line else totals.Rounding.PER_RATE,
        ticked=[*ticked, *example.noise_ticked],
        deposit_kind=example.deposit_kind,
        deposit_value=example.deposit_value,
    )


def check(example: Example) -> None:
    """The property: totals.py agrees with the oracle on every number it gives."""
    got = compute(example)
    want = oracle(example)
    assert {k: Fraction(v) for k, v in got.amounts.items()} == want.amounts, "line amounts"
    assert Fraction(got.subtotal) == want.subtotal, "subtotal"
    got_taxes = {(Fraction(t.percent), t.name): Fraction(t.tax) for t in got.taxes}
    assert got_taxes == want.taxes, "tax per rate"
    assert Fraction(got.tax) == want.tax, "tax"
    assert Fraction(got.total) == want.total, "total"
    assert Fraction(got.deposit) == want.deposit, "deposit"
    # The identities the pages rely on.
    if example.inclusive:
        assert got.subtotal == got.total - got.tax
    else:
        assert got.total == got.subtotal + got.tax
    assert got.tax == sum((t.tax for t in got.taxes), D(0))
    assert 0 <= got.deposit <= got.total
    assert got.subtotal >= 0 and got.tax >= 0


# ----------------------------------------------------------------------------- strategies


def scaled(low: int, high: int, places: int) -> st.SearchStrategy[Decimal]:
    """Decimals from low to high with exactly ``places`` decimals."""
    return st.integers(low * 10**places, high * 10**places).map(lambda n: D(n).scaleb(-places))


RATE_POOL = [
    (D("0"), "Zero-rated"),
    (D("5"), "GST"),
    (D("9.975"), "QST"),
    (D("10"), "GST"),
    (D("10"), "Sales tax"),  # the same percent under another name: a rate of its own
    (D("20"), "VAT"),
    (D("100"), "Luxury"),
]

quantities = st.one_of(
    scaled(0, 1000, 3), scaled(0, 5, 3), st.sampled_from([D("0.5"), D("1"), D("3"), D("0")])
)
unit_prices = st.one_of(
    scaled(0, 100000, 2), scaled(0, 10, 2), st.sampled_from([D("0.05"), D("0.25"), D("0.01")])
)
discounts = st.one_of(
    st.just(D("0")), st.just(D("100")), scaled(0, 100, 2), st.sampled_from([D("12.5"), D("50")])
)
oracle_lines = st.builds(
    OracleLine,
    quantity=quantities,
    unit_price=unit_prices,
    discount_percent=discounts,
    rate=st.one_of(st.none(), st.sampled_from(RATE_POOL)),
    optional=st.booleans(),
    ticked=st.booleans(),
)


@st.composite
def examples(draw: st.DrawFn) -> Example:
    lines = tuple(draw(st.lists(oracle_lines, min_size=1, max_size=8)))
    kind = draw(st.sampled_from(["none", "percent", "fixed"]))
    if kind == "percent":
        value = draw(st.one_of(scaled(0, 100, 2), st.just(D("100"))))
    elif kind == "fixed":
        value = draw(st.one_of(scaled(0, 10000, 2), scaled(0, 10**9, 2)))
    else:
        value = D(0)
    noise = draw(st.lists(st.sampled_from([*range(len(lines)), 999, "x"]), max_size=3))
    return Example(
        lines=lines,
        currency=draw(st.sampled_from(["GBP", "JPY"])),
        inclusive=draw(st.booleans()),
        per_line=draw(st.booleans()),
        deposit_kind=kind,
        deposit_value=value,
        noise_ticked=tuple(i for i in noise if i not in range(len(lines)) or not lines[i].optional),
    )


@settings(max_examples=2500, deadline=None, database=None)
@given(examples())
def test_totals_follow_the_rule_as_written_for_random_quotes(example: Example) -> None:
    check(example)


# ----------------------------------------------------------------------------- the test bites


def half_even(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(totals.minor_unit(currency), rounding=ROUND_HALF_EVEN)


# A 2.5p tax: 0.25 at 10 % is 0.025 — half-up 0.03, half-even 0.02.
TWO_AND_A_HALF_PENCE = Example(lines=(OracleLine(D(1), D("0.25"), rate=(D(10), "GST")),))


def test_the_known_example_passes_with_the_rule_as_written() -> None:
    check(TWO_AND_A_HALF_PENCE)
    assert compute(TWO_AND_A_HALF_PENCE).tax == D("0.03")


def test_the_property_fails_when_rounding_is_half_even(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(totals, "round_money", half_even)
    assert compute(TWO_AND_A_HALF_PENCE).tax == D("0.02")  # the mutant is in effect
    with pytest.raises(AssertionError, match="tax per rate"):
        check(TWO_AND_A_HALF_PENCE)
    # A line amount on a half: 0.5 × 0.05 = 0.025.
    with pytest.raises(AssertionError, match="line amounts"):
        check(Example(lines=(OracleLine(D("0.5"), D("0.05")),)))


def test_hypothesis_finds_the_half_even_mutant_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """The random search alone (not only the hand-picked example) falsifies the mutant."""
    monkeypatch.setattr(totals, "round_money", half_even)

    @settings(max_examples=2000, deadline=None, database=None, derandomize=True,
              report_multiple_bugs=False)  # fmt: skip
    @given(examples())
    def property_(example: Example) -> None:
        check(example)

    with pytest.raises(AssertionError):
        property_()


# ----------------------------------------------------------------------------- examples


def test_quebec_sales_tax_of_9_975_percent_on_100_is_9_98() -> None:
    example = Example(lines=(OracleLine(D(1), D("100.00"), rate=(D("9.975"), "QST")),))
    result = compute(example)
    assert [t.tax for t in result.taxes] == [D("9.98")]
    assert result.total == D("109.98")
    check(example)


def test_the_gst_rule_differs_from_per_line_rounding() -> None:
    three = tuple(OracleLine(D(1), D("0.05"), rate=(D(10), "GST")) for _ in range(3))
    per_rate = compute(Example(lines=three))
    per_line = compute(Example(lines=three, per_line=True))
    assert (per_rate.tax, per_rate.total) == (D("0.02"), D("0.17"))  # 0.015 rounded once
    assert (per_line.tax, per_line.total) == (D("0.03"), D("0.18"))  # 0.005 → 0.01, three times
    check(Example(lines=three))
    check(Example(lines=three, per_line=True))


def test_a_100_percent_discount_makes_the_line_nothing() -> None:
    example = Example(
        lines=(OracleLine(D("3"), D("499.99"), D(100), rate=(D(20), "VAT")),
               OracleLine(D(1), D("10.00"), rate=(D(20), "VAT"))),
        deposit_kind="percent", deposit_value=D(50),
    )  # fmt: skip
    result = compute(example)
    assert result.amounts[0] == 0
    assert (result.subtotal, result.tax, result.total, result.deposit) == (
        D("10.00"), D("2.00"), D("12.00"), D("6.00"),
    )  # fmt: skip
    check(example)


def test_yen_has_no_minor_unit_and_inclusive_tax_is_taken_out() -> None:
    example = Example(
        lines=(OracleLine(D(1), D("1100"), rate=(D(10), "Consumption")),), currency="JPY",
        inclusive=True, deposit_kind="fixed", deposit_value=D("5000.50"),
    )  # fmt: skip
    result = compute(example)
    assert (result.total, result.tax, result.subtotal) == (D(1100), D(100), D(1000))
    assert result.deposit == D(1100)  # a fixed deposit is never more than the total
    check(example)


# ----------------------------------------------------------------------------- every surface


TOTAL_DD = re.compile(r'<dd class="quote-total" data-total="([^"]*)">([^<]*)</dd>')


def pounds(amount: Decimal) -> str:
    """How en-GB writes an amount in pounds (independently of babel)."""
    return f"£{amount:,.2f}"


def page_total(client: Client, url: str) -> tuple[str, str]:
    response = client.get(url)
    assert response.status_code == 200, url
    found = TOTAL_DD.findall(response.content.decode())
    assert len(found) == 1, url
    return found[0]


def csv_rows(client: Client) -> dict[str, dict[str, str]]:
    response = client.get("/quotes/export.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return {row["Number"]: row for row in csv.DictReader(io.StringIO(text))}


def assert_pdf(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


@pytest.fixture
def random_quotes(cast: Cast) -> list[tuple[Quote, Example]]:
    """Six sent quotes of Harbour with random lines (seeded), each with its oracle example."""
    cast.workspace.module_quotes = True
    cast.workspace.save(update_fields=["module_quotes"])
    rates = [
        services.tax_rate_add(workspace=cast.workspace, actor=cast.admin, name=n, percent=p)
        for p, n in [(D(20), "VAT"), (D("9.975"), "QST"), (D(5), "GST"), (D(0), "Zero-rated")]
    ]
    chance = random.Random(20300604)
    made = []
    for number in range(6):
        inputs, oracle_lines_ = [], []
        for position in range(chance.randint(1, 6)):
            quantity = D(chance.randint(0, 20_000)).scaleb(-3)
            price = D(chance.randint(0, 500_000)).scaleb(-2)
            discount = D(chance.choice([0, 0, 1000, 1250, 3333, 10000])).scaleb(-2)
            rate: TaxRate | None = chance.choice([*rates, None])
            optional = position > 0 and chance.random() < 0.3
            inputs.append(LineInput(f"Item {position}", quantity, price, discount, rate, optional))
            oracle_lines_.append(OracleLine(
                quantity, price, discount, (rate.percent, rate.name) if rate else None, optional,
            ))  # fmt: skip
        if all(line.optional for line in inputs):
            continue
        quote = services.quote_create(
            workspace=cast.workspace, actor=cast.admin, title=f"Random quote {number}",
            customer=cast.customer, lines=inputs, deposit_kind="percent", deposit_value=D(30),
        )  # fmt: skip
        quote = services.quote_send(quote=quote, actor=cast.admin)
        example = Example(lines=tuple(oracle_lines_), deposit_kind="percent",
                          deposit_value=D(30))  # fmt: skip
        made.append((quote, example))
    assert len(made) >= 4
    return made


def test_every_surface_shows_the_rule_s_total(
    cast: Cast, random_quotes: list[tuple[Quote, Example]]
) -> None:
    admin = client_for(cast.admin)
    anonymous = Client()
    exported = csv_rows(admin)
    for quote, example in random_quotes:
        total = as_decimal(oracle(example).total, 2)
        token = tokens.token_for(quote.uid)
        assert Quote.objects.get(pk=quote.pk).total == total
        assert page_total(admin, f"/quotes/{quote.pk}/") == (str(total), pounds(total))
        assert page_total(anonymous, f"/q/{token}/") == (str(total), pounds(total))
        assert exported[quote.reference]["Total"] == str(total)
        assert exported[quote.reference]["Accepted total"] == ""
        assert_pdf(admin, f"/quotes/{quote.pk}/pdf/")
        assert_pdf(anonymous, f"/q/{token}/pdf/")


def test_an_accepted_quote_shows_the_accepted_total_with_its_ticked_lines(
    cast: Cast, random_quotes: list[tuple[Quote, Example]]
) -> None:
    """The optional lines the customer ticked count on the staff page, the public page and
    the CSV's Accepted total; the CSV's Total stays the total without options."""
    quote, example = next(
        (q, e) for q, e in random_quotes if any(line.optional for line in e.lines)
    )
    lines = services.lines_of(quote)
    ticked_ids = [line.pk for line in lines if line.optional]
    services.quote_accept(quote=quote, name="Priya Natarajan", ip="203.0.113.9",
                          ticked=ticked_ids)  # fmt: skip
    ticked_example = Example(
        lines=tuple(
            OracleLine(o.quantity, o.unit_price, o.discount_percent, o.rate, o.optional, True)
            for o in example.lines
        ),
        deposit_kind="percent", deposit_value=D(30),
    )  # fmt: skip
    accepted = as_decimal(oracle(ticked_example).total, 2)
    without = as_decimal(oracle(example).total, 2)
    assert Quote.objects.get(pk=quote.pk).accepted_total == accepted
    admin = client_for(cast.admin)
    token = tokens.token_for(quote.uid)
    assert page_total(admin, f"/quotes/{quote.pk}/") == (str(accepted), pounds(accepted))
    assert page_total(Client(), f"/q/{token}/") == (str(accepted), pounds(accepted))
    row = csv_rows(admin)[quote.reference]
    assert (row["Total"], row["Accepted total"]) == (str(without), str(accepted))


def test_the_pages_and_the_csv_agree_after_the_workspace_changes_its_rounding(
    cast: Cast,
) -> None:
    """Three lines of 0.05 at GST 10 % were sent as 0.17 (rounded once per rate). When the
    workspace switches to per-line rounding, the quote already sent must not show 0.18 on its
    pages while the CSV (the stored total) and revision 1 still say 0.17."""
    cast.workspace.module_quotes = True
    cast.workspace.save(update_fields=["module_quotes"])
    gst = services.tax_rate_add(workspace=cast.workspace, actor=cast.admin, name="GST",
                                percent=10)  # fmt: skip
    quote = services.quote_send(
        quote=services.quote_create(
            workspace=cast.workspace, actor=cast.admin, title="Washers", customer=cast.customer,
            lines=[LineInput(f"Washer {i}", D(1), D("0.05"), tax_rate=gst) for i in range(3)],
        ),
        actor=cast.admin,
    )  # fmt: skip
    cast.workspace.tax_rounding = "per_line"
    cast.workspace.save(update_fields=["tax_rounding"])
    admin = client_for(cast.admin)
    token = tokens.token_for(quote.uid)
    sent_total = quote.revisions.get(number=1).content["total_without_options"]
    assert sent_total == "0.17"
    assert csv_rows(admin)[quote.reference]["Total"] == sent_total
    assert page_total(admin, f"/quotes/{quote.pk}/") == (sent_total, "£0.17")
    assert page_total(Client(), f"/q/{token}/") == (sent_total, "£0.17")


def test_the_pages_and_the_csv_agree_after_the_workspace_changes_its_currency(
    cast: Cast,
) -> None:
    """A quote sent as £12.34: when the workspace's currency is switched (Settings, General)
    to yen, which has no minor unit, its pages must not re-round it to 12 while the CSV (the
    stored total), revision 1 and the acceptance record still say 12.34."""
    cast.workspace.module_quotes = True
    cast.workspace.save(update_fields=["module_quotes"])
    quote = services.quote_send(
        quote=services.quote_create(
            workspace=cast.workspace, actor=cast.admin, title="Washer", customer=cast.customer,
            lines=[LineInput("Washer", D(1), D("12.34"))],
        ),
        actor=cast.admin,
    )  # fmt: skip
    cast.workspace.currency = "JPY"
    cast.workspace.save(update_fields=["currency"])
    admin = client_for(cast.admin)
    sent_total = quote.revisions.get(number=1).content["total_without_options"]
    assert sent_total == "12.34"
    assert csv_rows(admin)[quote.reference]["Total"] == sent_total
    assert page_total(admin, f"/quotes/{quote.pk}/")[0] == sent_total
