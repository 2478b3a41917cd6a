"""The arithmetic of a payment schedule (billing/schedule.py), against its docstring's rule:

- a *fixed* instalment is its amount; a *percent* one is that share of the value, rounded
  half-up to the currency's minor unit (0.01 for GBP, 1 for JPY); one already requested (or
  paid) keeps its invoiced amount whatever the value does; void ones count for nothing;
- the last instalment takes what is left, so the schedule adds up to the value exactly; when
  it is the balance that is all it is, when it is a percent or fixed one the shares, fixed
  and requested amounts must come to the value before rounding;
- every instalment comes to more than zero; only the last can be the balance.

Every expectation here is worked out in the test from that text (``Decimal.quantize`` with
ROUND_HALF_UP on the minor units written below), never with schedule.py's helpers. Refusals
raise ScheduleError with a message for the person typing; the tests read its key words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobline.billing import schedule
from jobline.billing.models import AmountKind
from jobline.billing.schedule import Part, ScheduleError, spread

D = Decimal
PERCENT, FIXED, BALANCE = AmountKind.PERCENT, AmountKind.FIXED, AmountKind.BALANCE
UNITS = {"GBP": D("0.01"), "JPY": D(1)}  # the minor units, as the rule names them
HUNDRED = D(100)
EXAMPLES = 500  # per property; six properties: 3,000 examples, a few seconds


def share(value: Decimal, percent: Decimal, currency: str) -> Decimal:
    """The rule's percent instalment: value × percent / 100, half-up to the minor unit."""
    return (value * percent / HUNDRED).quantize(UNITS[currency], rounding=ROUND_HALF_UP)


def live(parts: Sequence[Part]) -> list[int]:
    return [i for i, part in enumerate(parts) if not part.void]


# ----------------------------------------------------------------------------- strategies

VALUE_UNITS = st.one_of(
    st.sampled_from([1, 2, 3, 7, 100, 999_999_999]),  # 0.01 … 9,999,999.99 in GBP
    st.integers(min_value=1, max_value=999_999_999),
)
PERCENTS = st.one_of(
    st.sampled_from([D("33.3333"), D("66.6667"), D("0.0001"), D("12.5"), D(25), D(50)]),
    st.integers(min_value=1, max_value=1_000_000).map(lambda n: D(n).scaleb(-4)),  # 0.0001-100
)


@dataclass(frozen=True)
class Schedule:
    """A schedule built to follow the rule, with what the rule says each part comes to."""

    currency: str
    value: Decimal
    parts: tuple[Part, ...]
    expected: tuple[Decimal, ...]  # worked out here, as the rule is written

    def __repr__(self) -> str:
        rows = "\n  ".join(repr(p) for p in self.parts)
        return f"Schedule({self.value} {self.currency}:\n  {rows}\n  → {self.expected})"


@st.composite
def void_parts(draw: st.DrawFn, *, balance_too: bool) -> Part:
    """A void instalment: whatever it said, it counts for nothing."""
    kinds = [PERCENT, FIXED, BALANCE] if balance_too else [PERCENT, FIXED]
    return Part(
        kind=draw(st.sampled_from(kinds)),
        percent=draw(PERCENTS),
        amount=D(draw(st.integers(min_value=1, max_value=10**9))),
        void=True,
    )


@st.composite
def schedules(draw: st.DrawFn, *, voids: bool = False, void_balance: bool = False) -> Schedule:
    """A value and instalments that follow the rule: each part before the last fits in what
    is left, and the last is the balance, a requested one of exactly the rest, or a fixed one
    that makes the shares and amounts come to the value before rounding."""
    currency = draw(st.sampled_from(["GBP", "JPY"]))
    unit = UNITS[currency]
    value = draw(VALUE_UNITS) * unit
    parts: list[Part] = []
    expected: list[Decimal] = []
    nominal = D(0)  # the parts before the last, before rounding
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        if voids and draw(st.integers(0, 3)) == 0:
            parts.append(draw(void_parts(balance_too=void_balance)))
            expected.append(D(0))
            continue
        kind = draw(st.sampled_from(["percent", "fixed", "frozen"]))
        left = value - sum(expected, D(0))  # the last must still come to something
        if kind == "percent":
            percent = draw(PERCENTS)
            amount = share(value, percent, currency)
            if not unit <= amount < left:
                continue
            parts.append(Part(kind=PERCENT, percent=percent))
            nominal += value * percent / HUNDRED
        else:
            if left <= unit:
                continue
            amount = draw(st.integers(min_value=1, max_value=int(left / unit) - 1)) * unit
            if kind == "fixed":
                parts.append(Part(kind=FIXED, amount=amount))
            else:  # requested earlier, as a percent or fixed instalment: its amount stays
                was = draw(st.sampled_from([PERCENT, FIXED]))
                parts.append(Part(kind=was, percent=draw(PERCENTS), amount=amount, frozen=True))
            nominal += amount
        expected.append(amount)
    rest = value - sum(expected, D(0))
    last = draw(st.sampled_from(["balance", "balance", "balance", "frozen", "fixed"]))
    typed = value - nominal  # a fixed last instalment that makes it add up before rounding
    if last == "fixed" and typed > 0 and typed % unit == 0:
        parts.append(Part(kind=FIXED, amount=typed))
    elif last == "frozen":
        parts.append(Part(kind=FIXED, amount=rest, frozen=True))
    else:
        parts.append(Part(kind=BALANCE))
    expected.append(rest)
    if voids and draw(st.booleans()):  # a void one after the last counts for nothing too
        parts.append(draw(void_parts(balance_too=void_balance)))
        expected.append(D(0))
    return Schedule(currency, value, tuple(parts), tuple(expected))


@st.composite
def loose_schedules(draw: st.DrawFn) -> tuple[str, Decimal, tuple[Part, ...]]:
    """Any value and instalments at all (amounts on the minor unit), most against the rule."""
    currency = draw(st.sampled_from(["GBP", "JPY"]))
    unit = UNITS[currency]
    value = draw(st.integers(min_value=0, max_value=10**6)) * unit
    parts = []
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        kind = draw(st.sampled_from([PERCENT, FIXED, BALANCE]))
        frozen = kind != BALANCE and draw(st.integers(0, 3)) == 0
        void = not frozen and kind != BALANCE and draw(st.integers(0, 4)) == 0
        amount = draw(st.integers(min_value=1, max_value=2 * 10**6)) * unit
        parts.append(
            Part(kind=kind, percent=draw(PERCENTS), amount=amount, frozen=frozen, void=void)
        )
    return currency, value, tuple(parts)


def by_the_rule(value: Decimal, parts: Sequence[Part], currency: str) -> list[Decimal] | None:
    """What the docstring's rule makes of a schedule; None where it can't be worked out."""
    unit = UNITS[currency]
    alive = live(parts)
    if value < 0 or value % unit or not alive:
        return None
    amounts = [D(0)] * len(parts)
    for index in alive[:-1]:
        part = parts[index]
        if part.kind == BALANCE and not part.frozen:
            return None  # only the last can be the balance
        if part.frozen or part.kind == FIXED:
            amounts[index] = part.amount or D(0)
        else:
            amounts[index] = share(value, part.percent or D(0), currency)
    last = alive[-1]
    final = parts[last]
    rest = value - sum(amounts, D(0))
    if final.frozen and rest != final.amount:
        return None  # it keeps its amount, and the schedule adds up
    if not final.frozen and final.kind != BALANCE:
        before_rounding = sum(
            (
                parts[i].amount or D(0)
                if parts[i].frozen or parts[i].kind == FIXED
                else value * (parts[i].percent or D(0)) / HUNDRED
                for i in alive
            ),
            D(0),
        )
        if before_rounding != value:
            return None
    amounts[last] = rest
    if any(amounts[i] <= 0 for i in alive):
        return None  # every instalment comes to something
    return amounts


def spread_or_none(value: Decimal, parts: Sequence[Part], currency: str) -> list[Decimal] | None:
    try:
        return spread(value, parts, currency)
    except ScheduleError as error:
        assert error.message.strip(), "a refusal says why"
        return None


def check_percent_shares(example: Schedule) -> None:
    amounts = spread(example.value, example.parts, example.currency)
    last = live(example.parts)[-1]
    for index, part in enumerate(example.parts):
        if part.kind == PERCENT and not part.frozen and index != last:
            assert part.percent is not None
            assert amounts[index] == share(example.value, part.percent, example.currency), (
                "a percent instalment is its share, rounded half-up"
            )
    assert tuple(amounts) == example.expected


PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None)


# ----------------------------------------------------------------------------- properties


@PROPERTY
@given(schedules(voids=True))
def test_an_accepted_schedule_adds_up_to_the_value_to_the_minor_unit(example: Schedule) -> None:
    amounts = spread(example.value, example.parts, example.currency)
    assert len(amounts) == len(example.parts)
    assert sum(amounts, D(0)) == example.value
    unit = UNITS[example.currency]
    assert all(amount % unit == 0 for amount in amounts)
    assert all(amounts[i] > 0 for i in live(example.parts))


@PROPERTY
@given(schedules())
def test_a_percent_instalment_before_the_last_is_its_share_rounded_half_up(
    example: Schedule,
) -> None:
    check_percent_shares(example)


@PROPERTY
@given(schedules())
def test_a_fixed_instalment_is_its_amount_and_the_last_takes_the_rounding(
    example: Schedule,
) -> None:
    amounts = spread(example.value, example.parts, example.currency)
    last = live(example.parts)[-1]
    for index, part in enumerate(example.parts[:last]):
        if part.kind == FIXED:
            assert amounts[index] == part.amount
    final = example.parts[last]
    if final.kind == FIXED and not final.frozen:
        # The others' rounding lands on it: at most half a minor unit from each percent one.
        assert final.amount is not None
        rounded = sum(1 for p in example.parts[:last] if p.kind == PERCENT and not p.frozen)
        assert abs(amounts[last] - final.amount) <= rounded * UNITS[example.currency] / 2


@PROPERTY
@given(schedules(voids=True), st.integers(min_value=0, max_value=10**9))
def test_a_requested_instalment_keeps_its_amount_whatever_the_value_does(
    example: Schedule, more: int
) -> None:
    """The value changes (up by any amount, or not at all): requested amounts stay, and the
    schedule is refused exactly when the rule can no longer spread it."""
    unit = UNITS[example.currency]
    value = example.value + more % (10 * int(example.value / unit) + 1) * unit
    amounts = spread_or_none(value, example.parts, example.currency)
    assert amounts == by_the_rule(value, example.parts, example.currency)
    if amounts is not None:
        for index, part in enumerate(example.parts):
            if part.frozen:
                assert amounts[index] == part.amount
        assert sum(amounts, D(0)) == value


@PROPERTY
@given(schedules(voids=True, void_balance=True))
def test_a_void_instalment_comes_to_nothing_and_changes_none_of_the_others(
    example: Schedule,
) -> None:
    """Whatever a void instalment said (a share, an amount, the balance) and wherever it sits,
    the others come to what they would without it."""
    without = spread(example.value, [p for p in example.parts if not p.void], example.currency)
    amounts = spread(example.value, example.parts, example.currency)
    assert [amounts[i] for i in live(example.parts)] == without
    assert all(amounts[i] == 0 for i, part in enumerate(example.parts) if part.void)
    assert tuple(amounts) == example.expected


@PROPERTY
@given(loose_schedules())
def test_spread_accepts_exactly_the_schedules_the_rule_can_work_out(
    example: tuple[str, Decimal, tuple[Part, ...]],
) -> None:
    currency, value, parts = example
    assert spread_or_none(value, parts, currency) == by_the_rule(value, parts, currency)


def test_the_percent_property_fails_when_rounding_is_half_even(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The test bites: with half-even rounding in schedule.py, 25 % of 0.10 (0.025) would be
    0.02, not the rule's 0.03."""

    def half_even(amount: Decimal, currency: str) -> Decimal:
        return amount.quantize(UNITS[currency], rounding=ROUND_HALF_EVEN)

    example = Schedule(
        "GBP",
        D("0.10"),
        (Part(kind=PERCENT, percent=D(25)), Part(kind=BALANCE)),
        (D("0.03"), D("0.07")),
    )
    check_percent_shares(example)
    monkeypatch.setattr(schedule, "round_money", half_even)
    with pytest.raises(AssertionError, match="rounded half-up"):
        check_percent_shares(example)


# ----------------------------------------------------------------------------- examples


def test_three_thirds_of_100_are_33_33_33_33_and_the_balance_33_34() -> None:
    parts = [Part(kind=PERCENT, percent=D("33.3333"))] * 2 + [Part(kind=BALANCE)]
    assert spread(D(100), parts, "GBP") == [D("33.33"), D("33.33"), D("33.34")]


def test_33_3333_percent_of_the_largest_value_is_rounded_half_up() -> None:
    value = D("9999999.99")
    parts = [Part(kind=PERCENT, percent=D("33.3333")), Part(kind=BALANCE)]
    # 9,999,999.99 × 0.333333 = 3,333,329.9966667 → 3,333,330.00
    assert spread(value, parts, "GBP") == [D("3333330.00"), D("6666669.99")]


def test_a_value_of_one_penny_is_one_instalment_of_one_penny() -> None:
    assert spread(D("0.01"), [Part(kind=BALANCE)], "GBP") == [D("0.01")]
    assert spread(D("0.01"), [Part(kind=PERCENT, percent=D(100))], "GBP") == [D("0.01")]
    assert spread(D("0.01"), [Part(kind=FIXED, amount=D("0.01"))], "GBP") == [D("0.01")]


def test_half_of_one_penny_rounds_up_and_leaves_the_balance_nothing() -> None:
    parts = [Part(kind=PERCENT, percent=D(50)), Part(kind=BALANCE)]
    with pytest.raises(ScheduleError, match="come to nothing") as error:
        spread(D("0.01"), parts, "GBP")
    assert error.value.row == 1


def test_yen_are_spread_in_whole_yen() -> None:
    parts = [
        Part(kind=PERCENT, percent=D("33.3333")),
        Part(kind=PERCENT, percent=D(12.5)),
        Part(kind=BALANCE),
    ]
    # 1,001 × 0.333333 = 333.666… → 334; 1,001 × 0.125 = 125.125 → 125; the rest 542.
    assert spread(D(1001), parts, "JPY") == [D(334), D(125), D(542)]
    # 12.5 % of 4 yen is exactly half a yen: half-up makes it 1.
    assert spread(D(4), parts[1:], "JPY") == [D(1), D(3)]


def test_a_schedule_that_adds_up_before_rounding_may_end_on_a_percent() -> None:
    parts = [
        Part(kind=PERCENT, percent=D(25)),
        Part(kind=PERCENT, percent=D(25)),
        Part(kind=PERCENT, percent=D(50)),
    ]
    # 0.025 → 0.03 twice; the last takes what is left: 0.04.
    assert spread(D("0.10"), parts, "GBP") == [D("0.03"), D("0.03"), D("0.04")]


def test_a_void_balance_before_a_new_balance_counts_for_nothing() -> None:
    """The balance was voided and a new one added after it (or the void one sits last)."""
    deposit = Part(kind=FIXED, amount=D(300), frozen=True)
    void_balance = Part(kind=BALANCE, amount=D(700), void=True)
    assert spread(D(1000), [deposit, void_balance, Part(kind=BALANCE)], "GBP") == [
        D(300),
        D(0),
        D(700),
    ]
    assert spread(D(1000), [deposit, Part(kind=BALANCE), void_balance], "GBP") == [
        D(300),
        D(700),
        D(0),
    ]


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("value", "parts", "currency", "words", "row"),
    [
        pytest.param(
            D("-0.01"),
            [Part(kind=BALANCE)],
            "GBP",
            ["value", "negative"],
            None,
            id="negative-value",
        ),
        pytest.param(
            D("10.005"),
            [Part(kind=BALANCE)],
            "GBP",
            ["value", "0.01"],
            None,
            id="value-finer-than-a-penny",
        ),
        pytest.param(
            D("10.5"),
            [Part(kind=BALANCE)],
            "JPY",
            ["value", "1"],
            None,
            id="value-finer-than-a-yen",
        ),
        pytest.param(None, [Part(kind=BALANCE)], "GBP", ["value first"], None, id="no-value"),
        pytest.param(D(1000), [], "GBP", ["at least one"], None, id="no-instalment"),
        pytest.param(
            D(1000),
            [Part(kind=BALANCE), Part(kind=PERCENT, percent=D(10))],
            "GBP",
            ["only the last", "balance"],
            0,
            id="balance-not-last",
        ),
        pytest.param(
            D(1000),
            [Part(kind=PERCENT, percent=D(150)), Part(kind=BALANCE)],
            "GBP",
            ["100 %"],
            0,
            id="a-percent-over-100",
        ),
        pytest.param(
            D(1000),
            [Part(kind=PERCENT, percent=D(0)), Part(kind=BALANCE)],
            "GBP",
            ["more than 0 %"],
            0,
            id="a-percent-of-0",
        ),
        pytest.param(
            D(1000),
            [
                Part(kind=PERCENT, percent=D(60)),
                Part(kind=PERCENT, percent=D(50)),
                Part(kind=BALANCE),
            ],
            "GBP",
            ["1,100.00 GBP", "more than the value", "1,000.00 GBP"],
            2,
            id="percents-over-100-together",
        ),
        pytest.param(
            D(1000),
            [Part(kind=FIXED, amount=D(600)), Part(kind=FIXED, amount=D(600)), Part(kind=BALANCE)],
            "GBP",
            ["1,200.00 GBP", "more than the value", "1,000.00 GBP"],
            2,
            id="sum-over-value",
        ),
        pytest.param(
            D(1000),
            [Part(kind=PERCENT, percent=D(30))] * 3,
            "GBP",
            ["900.00 GBP", "1,000.00 GBP", "balance"],
            2,
            id="no-balance-and-30-30-30",
        ),
        pytest.param(
            D(1000),
            [Part(kind=FIXED, amount=D(400)), Part(kind=FIXED, amount=D(400))],
            "GBP",
            ["800.00 GBP", "1,000.00 GBP", "balance"],
            1,
            id="no-balance-and-fixed-short",
        ),
        pytest.param(
            D(1000),
            [Part(kind=FIXED, amount=D(1000)), Part(kind=BALANCE)],
            "GBP",
            ["come to nothing"],
            1,
            id="the-balance-comes-to-0",
        ),
        pytest.param(
            D(1000),
            [Part(kind=PERCENT, percent=D("0.0001")), Part(kind=BALANCE)],
            "GBP",
            ["come to nothing"],
            0,
            id="a-share-rounds-to-0",
        ),
        pytest.param(D(0), [Part(kind=BALANCE)], "GBP", ["come to nothing"], 0, id="a-value-of-0"),
        pytest.param(
            D(1000),
            [Part(kind=FIXED, amount=D(0)), Part(kind=BALANCE)],
            "GBP",
            ["more than zero"],
            0,
            id="a-fixed-amount-of-0",
        ),
        pytest.param(
            D(1000),
            [Part(kind=FIXED, amount=D("-5")), Part(kind=BALANCE)],
            "GBP",
            ["more than zero"],
            0,
            id="a-negative-fixed-amount",
        ),
        pytest.param(
            D(1000),
            [Part(kind=FIXED, amount=D("9.999")), Part(kind=BALANCE)],
            "GBP",
            ["0.01"],
            0,
            id="a-fixed-amount-finer-than-a-penny",
        ),
        pytest.param(
            D(500),
            [Part(kind=FIXED, amount=D(600), frozen=True), Part(kind=BALANCE)],
            "GBP",
            ["600.00 GBP", "already requested", "less"],
            None,
            id="value-below-what-is-requested",
        ),
        pytest.param(
            D(1200),
            [
                Part(kind=FIXED, amount=D(300), frozen=True),
                Part(kind=BALANCE, amount=D(700), frozen=True),
            ],
            "GBP",
            ["already requested", "1,000.00 GBP", "1,200.00 GBP", "add an instalment"],
            1,
            id="every-one-requested-and-the-value-grew",
        ),
    ],
)
def test_a_schedule_against_the_rule_is_refused_with_a_message_saying_why(
    value: Decimal | None, parts: list[Part], currency: str, words: list[str], row: int | None
) -> None:
    with pytest.raises(ScheduleError) as error:
        spread(value, parts, currency)
    message = error.value.message.lower()
    for word in words:
        assert word.lower() in message, (word, error.value.message)
    assert error.value.row == row
    assert str(error.value) == error.value.message
