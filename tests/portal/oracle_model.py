"""The oracle: a small model of the written visibility rules (quoted in full in the docstring of
tests/portal/test_visibility_oracle.py, which is the spec).

It imports nothing from ``jobline``: it keeps its own record of what happened to the job (which
stages it entered, what was saved where, which replies and files exist and who may see them,
which visits were booked for whom and what became of them)
and answers, from the rules alone, which marker strings the customer must see (SHOWN), must
never see (SECRET), or may see either way (NEITHER). Every answer names the rule it came from.

Everything is judged at the end of the history, because that is when every surface is read:
pages are rendered then, and the customer's e-mails are composed then (the digest window is
over), so "a reply made internal later disappears ... from e-mails not yet sent" means it is
in none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

RULES = (
    "R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "S1", "V1", "V2", "V3", "V4",
    "M1", "M2", "M3", "A1", "A2",
)  # fmt: skip
IN_PROGRESS = "In progress"
# V4: the words a no-show is never called to the customer (any case: "no-show", "No-show").
NO_SHOW_WORD = "no-show"


class Verdict(StrEnum):
    SHOWN = "SHOWN"  # must appear on the portal job page
    SECRET = "SECRET"  # must appear nowhere the customer looks
    NEITHER = "NEITHER"  # allowed either way


@dataclass(frozen=True)
class Marker:
    """A unique string planted in the history, and how to find it in a page."""

    text: str
    money: bool = False
    # Found in any case ("no-show" finds "No-show"): for words, not for planted markers.
    any_case: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        if not self.money:
            return re.compile(re.escape(self.text))
        # An amount may be written 7100137.47 (feed, form input) or £7,100,137.47 (display),
        # or with a locale's own separators: digits in groups of three, any separator.
        whole, cents = self.text.split(".")
        groups = []
        while whole:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        separator = "[,.\u00a0\u202f' ]?"
        return re.compile(rf"(?<![\d.,]){separator.join(groups)}[.,]{cents}(?!\d)")

    def found_in(self, text: str) -> bool:
        if self.any_case:
            return self.text.lower() in text.lower()
        if not self.money:
            return self.text in text
        return self.pattern.search(text) is not None

    def __str__(self) -> str:
        return self.text


class Markers:
    """Fresh markers for one history. ``mk00042q``: fixed width and a closing ``q``, so no
    marker is ever a substring of another. Amounts are numbers no page shows by chance."""

    def __init__(self) -> None:
        self.count = 0

    def text(self) -> Marker:
        self.count += 1
        return Marker(f"mk{self.count:05d}q")

    def amount(self, base: int = 7_100_000) -> Marker:
        self.count += 1
        whole = base + 1_009 * self.count
        cents = 10 + (self.count * 37) % 89
        return Marker(f"{whole}.{cents}", money=True)

    def value(self) -> Marker:
        """A job's value: more than any three amounts together, so a balance is left."""
        return self.amount(base=40_000_000)

    def part(self) -> Marker:
        """A part payment: less than any amount still owed."""
        return self.amount(base=100_000)


def amount_marker(amount: Decimal) -> Marker:
    """A sum the model worked out (a balance, what is still owed) as a marker to look for."""
    return Marker(f"{amount:.2f}", money=True)


def decimal_of(marker: Marker) -> Decimal:
    return Decimal(marker.text)


@dataclass(frozen=True)
class Judgement:
    marker: Marker
    what: str  # what the marker is, in words, for failure messages
    verdict: Verdict
    rule: str
    why: str
    # Must be named in some e-mail the customer receives (visible replies and files).
    emailed: bool = False
    # A current amount: the Admin's job page, or the job's Payments page, shows it (S1: Admins
    # see amounts).
    admin_sees: bool = False
    # Which way of breaking the rule a leak of this marker is (e.g. R4 "internal-stage"):
    # failures are told apart by rule and facet, so each gets its own minimal example.
    facet: str = ""
    # SHOWN in the visit lists (V2): the job page's visits section (not merely its history)
    # and the customer's list of visits, instead of anywhere on the job page.
    in_visit_lists: bool = False


# --- the record of what happened ---------------------------------------------------------------


@dataclass
class MStage:
    key: int
    position: int
    visible: bool
    terminal: bool
    names: list[Marker]  # every name it had, the current one last
    labels: list[Marker | None]  # every customer label it had (None = no label), current last
    approval: bool = False  # it requires the customer's approval (visible open stages only)

    @property
    def name(self) -> Marker:
        return self.names[-1]

    @property
    def label(self) -> Marker | None:
        return self.labels[-1]

    @property
    def read_as(self) -> Marker:
        """R1: a visible stage is read by its customer label when it has one, else its name."""
        return self.label or self.name

    def describe(self) -> str:
        kind = "visible" if self.visible else "internal"
        finishing = ", finishing" if self.terminal else ""
        return f"stage #{self.key} ({kind}{finishing})"


@dataclass
class MField:
    key: int
    stage: int
    type: str  # text / money / file
    visible: bool
    label: Marker
    retired: bool = False
    # Text and money: every value saved, the current one last (None = emptied).
    values: list[Marker | None] = field(default_factory=list)
    # File fields: the files stored in the field, in order (keys of Model.files).
    files: list[int] = field(default_factory=list)

    @property
    def current(self) -> Marker | None:
        return self.values[-1] if self.values else None

    def describe(self, model: Model) -> str:
        kind = "visible" if self.visible else "internal"
        retired = ", retired" if self.retired else ""
        stage = model.stage(self.stage).describe()
        return f"{self.type} field #{self.key} ({kind}{retired}) on {stage}"


@dataclass
class MMessage:
    key: int
    body: Marker
    reply: bool  # a reply to the customer (True) or an internal note
    made_internal: bool = False

    @property
    def visible(self) -> bool:
        return self.reply and not self.made_internal


@dataclass
class MFile:
    key: int
    name: Marker
    content: Marker
    visibility_visible: bool  # its own visibility setting is "visible to customer"
    message: int | None = None
    request: int | None = None
    field: int | None = None
    by_customer: bool = False
    # Staff shared it with the customer at some point (added visible, or made visible): the
    # customer is e-mailed about it. A customer's own upload is not e-mailed back to them.
    shared_by_staff: bool = False


@dataclass
class MRequest:
    key: int
    title: Marker
    description: Marker | None
    open: bool = True


class Whose(StrEnum):
    """Whom a visit is for, as booked."""

    JOB = "job"  # on the customer's job (so for the customer)
    BLOCK = "block"  # an internal block: no customer, no job
    OTHER = "other"  # the second customer's (on their own job, on none, or on this job lent)


# --- money and approvals (M1–M3, A1–A2) ------------------------------------------------------


class Paid(StrEnum):
    """An instalment's state (the issue's words): scheduled → requested → part-paid → paid, or
    void."""

    SCHEDULED = "scheduled"
    REQUESTED = "requested"
    PART_PAID = "part-paid"
    PAID = "paid"
    VOID = "void"


@dataclass
class MInstalment:
    key: int
    label: Marker
    amounts: list[Marker]  # every amount it came to, the current one last
    balance: bool  # the last instalment: the rest of the value
    trigger_stage: int | None  # requested on entering this stage; None: by hand
    state: Paid = Paid.SCHEDULED
    fired: bool = False  # its trigger fired (it fires once)
    paid: Decimal = Decimal(0)
    invoice: int | None = None  # key of its invoice (Model.invoices), once requested

    @property
    def amount(self) -> Decimal:
        return decimal_of(self.amounts[-1])

    def describe(self) -> str:
        kind = "the balance" if self.balance else "a fixed instalment"
        when = (
            "by hand" if self.trigger_stage is None else f"on entering stage #{self.trigger_stage}"
        )
        return f"instalment #{self.key} ({kind}, requested {when}, {self.state})"


@dataclass
class MInvoice:
    key: int
    instalment: int  # key of its instalment (for another customer's: -1)
    amount: Decimal
    owed: Decimal
    void: bool = False
    other_customer: bool = False  # issued on the second customer's own job
    other_label: Marker | None = None  # the other customer's instalment label
    other_amount: Marker | None = None


@dataclass
class MPayment:
    key: int
    instalment: int
    amount: Decimal
    marker: Marker | None  # a part payment's amount (a full one pays what was owed)
    refund_reason: Marker | None = None  # refunded (in full), and why


class Asked(StrEnum):
    PENDING = "pending"
    CHANGES = "changes requested"
    APPROVED = "approved"
    OVERRIDDEN = "overridden"
    SUPERSEDED = "superseded"


PASSED = (Asked.APPROVED, Asked.OVERRIDDEN)


@dataclass
class MApproval:
    key: int
    stage: int
    message: Marker | None = None
    files: list[int] = field(default_factory=list)
    status: Asked = Asked.PENDING
    messages: list[Marker] = field(default_factory=list)  # every message it said
    changes_message: Marker | None = None  # the customer's request for changes
    override_reason: Marker | None = None

    def describe(self) -> str:
        return f"approval #{self.key} of stage #{self.stage} ({self.status})"


# V2 names these; a no-show is V4's (its title, place and notes may be shown or not).
LISTED_STATUSES = ("scheduled", "completed", "cancelled")


@dataclass
class MVisit:
    key: int
    whose: Whose
    title: Marker
    location: Marker
    customer_notes: Marker
    internal_notes: Marker
    status: str = "scheduled"
    detached: bool = False  # taken off the job it was booked on
    on_other_job: bool = False  # OTHER: booked on the second customer's own job
    # OTHER: booked on this job while the job was the second customer's (it is this
    # customer's again): the visit stays theirs.
    lent: bool = False

    @property
    def on_the_job(self) -> bool:
        """On this customer's job now (V2/V3)."""
        return self.whose == Whose.JOB and not self.detached

    def describe(self) -> str:
        if self.whose == Whose.BLOCK:
            kind = "internal block (no customer, no job)"
        elif self.whose == Whose.OTHER:
            where = "on their job" if self.on_other_job else "on no job"
            if self.lent:
                where = "on this job while it was theirs"
            kind = f"visit for the second customer, {where}"
        else:
            kind = "visit on the job" + (", detached from it" if self.detached else "")
        return f"visit #{self.key} ({kind}, {self.status.replace('_', ' ')})"


@dataclass
class Model:
    stages: list[MStage] = field(default_factory=list)
    fields: list[MField] = field(default_factory=list)
    messages: list[MMessage] = field(default_factory=list)
    files: list[MFile] = field(default_factory=list)
    requests: list[MRequest] = field(default_factory=list)
    titles: list[Marker] = field(default_factory=list)
    current: int | None = None  # the real stage the job is in
    customer_stage: int | None = None  # R2: the last customer-visible stage it entered
    status_changes: list[int] = field(default_factory=list)  # R3: each change of R2, in order
    visits: list[MVisit] = field(default_factory=list)
    bookings_module: bool = True  # the workspace's Bookings module (V2)
    values: list[Marker] = field(default_factory=list)  # the job's value, the current one last
    instalments: list[MInstalment] = field(default_factory=list)
    invoices: list[MInvoice] = field(default_factory=list)
    payments: list[MPayment] = field(default_factory=list)
    approvals: list[MApproval] = field(default_factory=list)

    def stage(self, key: int) -> MStage:
        return self.stages[key]

    # --- what happens ------------------------------------------------------------------------

    def enter(self, key: int) -> None:
        """The job is created in, or moved into, a stage (R2, R3); the instalments waiting for
        the stage are requested, once (T); a stage that requires approval asks for it (A0)."""
        self.current = key
        stage = self.stages[key]
        if stage.visible:
            if self.customer_stage != key:
                self.status_changes.append(key)
            self.customer_stage = key
        for instalment in self.instalments:
            if (
                instalment.trigger_stage == key
                and instalment.state == Paid.SCHEDULED
                and not instalment.fired
            ):
                instalment.fired = True
                self.request(instalment)
        if stage.approval:
            latest = self.latest_approval_of(key)
            if latest is None or latest.status not in (*PASSED, Asked.PENDING):
                self.ask(key)

    # --- money: the schedule's written rules (the section 1) ------------------------

    @property
    def value(self) -> Decimal | None:
        return decimal_of(self.values[-1]) if self.values else None

    def respread(self) -> None:
        """The balance, while not yet requested, is what the value leaves after every other
        instalment that is not void."""
        value = self.value
        for instalment in self.instalments:
            if not instalment.balance or instalment.state != Paid.SCHEDULED or value is None:
                continue
            others = sum(
                (
                    i.amount
                    for i in self.instalments
                    if i is not instalment and i.state != Paid.VOID
                ),
                Decimal(0),
            )
            rest = value - others
            if rest != instalment.amount:
                instalment.amounts.append(amount_marker(rest))

    def request(self, instalment: MInstalment) -> MInvoice:
        invoice = MInvoice(len(self.invoices), instalment.key, instalment.amount, instalment.amount)
        self.invoices.append(invoice)
        instalment.invoice = invoice.key
        instalment.state = Paid.REQUESTED
        return invoice

    def settle(self, instalment: MInstalment) -> None:
        """An instalment's state from what was paid towards it."""
        if instalment.paid >= instalment.amount:
            instalment.state = Paid.PAID
        elif instalment.paid > 0:
            instalment.state = Paid.PART_PAID
        else:
            instalment.state = Paid.REQUESTED

    def pay(self, instalment: MInstalment, payment: MPayment) -> None:
        assert instalment.invoice is not None
        self.payments.append(payment)
        instalment.paid += payment.amount
        self.invoices[instalment.invoice].owed -= payment.amount
        self.settle(instalment)

    def refund(self, payment: MPayment, reason: Marker) -> None:
        instalment = self.instalments[payment.instalment]
        assert instalment.invoice is not None
        payment.refund_reason = reason
        instalment.paid -= payment.amount
        self.invoices[instalment.invoice].owed += payment.amount
        self.settle(instalment)

    def void(self, instalment: MInstalment) -> None:
        if instalment.invoice is not None:
            invoice = self.invoices[instalment.invoice]
            invoice.void = True
            invoice.owed = Decimal(0)
        instalment.state = Paid.VOID
        self.respread()

    # --- approvals: the written rules (the section 3) --------------------------------

    def latest_approval_of(self, stage: int) -> MApproval | None:
        live = [a for a in self.approvals if a.stage == stage and a.status != Asked.SUPERSEDED]
        return live[-1] if live else None

    def ask(self, stage: int, message: Marker | None = None, files: tuple[int, ...] = ()) -> None:
        """A new request replaces the stage's earlier answer and any request still open."""
        for approval in self.approvals:
            if approval.status != Asked.SUPERSEDED and (
                approval.stage == stage or approval.status in (Asked.PENDING, Asked.CHANGES)
            ):
                approval.status = Asked.SUPERSEDED
        approval = MApproval(len(self.approvals), stage, message, list(files))
        if message is not None:
            approval.messages.append(message)
        self.approvals.append(approval)

    @property
    def waiting_approval(self) -> MApproval | None:
        """What the customer is asked to approve now: the newest request, while open."""
        if self.approvals and self.approvals[-1].status == Asked.PENDING:
            return self.approvals[-1]
        return None

    @property
    def approval_here(self) -> MApproval | None:
        """The approval staff act on: the newest request, when it is of the job's stage."""
        if self.approvals and self.approvals[-1].stage == self.current:
            return self.approvals[-1]
        return None

    def value_changed(self) -> None:
        """A material change: the approval of the stage the job is in is asked again (an open
        request stays open, showing the new value)."""
        assert self.current is not None
        if not self.stages[self.current].approval:
            return
        latest = self.latest_approval_of(self.current)
        if latest is None or latest.status == Asked.PENDING:
            return
        self.ask(latest.stage, latest.message, tuple(latest.files))

    def save(self, key: int, value: Marker | None) -> None:
        self.fields[key].values.append(value)

    def set_file_visibility(self, key: int, visible: bool) -> None:
        file = self.files[key]
        if visible and not file.visibility_visible:
            file.shared_by_staff = True
        file.visibility_visible = visible

    # --- the rules ---------------------------------------------------------------------------

    @property
    def status_stage(self) -> MStage | None:
        """R2: the last customer-visible stage the job entered, or none ("In progress")."""
        return None if self.customer_stage is None else self.stages[self.customer_stage]

    def field_fails(self, item: MField) -> list[tuple[str, str]]:
        """R4: why the customer may not see this field, as (facet, reason); empty: they may.
        The facets come in the order that names the bug best."""
        reasons = []
        stage = self.stages[item.stage]
        if not item.visible:
            reasons.append(("not-flagged", "the field is not flagged visible to customer"))
        if item.retired:
            reasons.append(("retired", "the field is retired"))
        if not stage.visible:
            reasons.append(("internal-stage", "its stage is internal"))
        status = self.status_stage
        if status is None:
            reasons.append(("no-status", 'the customer status is "In progress": no fields'))
        elif stage.position > status.position:
            reasons.append(
                (
                    "after-status",
                    f"its stage comes after the customer's status ({status.describe()}), "
                    "whatever the real stage",
                )
            )
        return reasons

    def file_hidden(self, file: MFile) -> list[tuple[str, str]]:
        """R7: why the file is not customer-visible, as (facet, reason); empty: it is."""
        reasons = []
        if not file.visibility_visible:
            reasons.append(("internal-file", "its visibility is internal"))
        if file.message is not None:
            message = self.messages[file.message]
            if not message.reply:
                reasons.append(("note-file", "it is attached to an internal note"))
            elif message.made_internal:
                reasons.append(
                    ("reply-made-internal", "it is attached to a reply made internal later")
                )
        return reasons

    def file_visible(self, file: MFile) -> bool:
        return not self.file_hidden(file)

    def status_label(self) -> Marker | str:
        status = self.status_stage
        return IN_PROGRESS if status is None else status.read_as

    def expected_status_entries(self) -> list[Marker]:
        """R3: the status entries of the customer's history, newest first, each read as its
        stage is read now (R1)."""
        return [self.stages[key].read_as for key in reversed(self.status_changes)]

    def judgements(self) -> list[Judgement]:
        return [
            *self._stages(),
            *self._fields(),
            *self._messages(),
            *self._files(),
            *self._requests(),
            *self._titles(),
            *self._visits(),
            *self._money(),
            *self._approvals(),
        ]

    def _stages(self) -> list[Judgement]:
        out = []
        status = self.status_stage
        for stage in self.stages:
            what = stage.describe()
            if not stage.visible:
                why = "an internal stage: the customer never reads its name or customer label"
                for name in stage.names:
                    out.append(
                        Judgement(
                            name, f"name of {what}", Verdict.SECRET, "R1", why,
                            facet="internal-stage",
                        )
                    )  # fmt: skip
                for label in filter(None, stage.labels):
                    out.append(
                        Judgement(
                            label, f"label of {what}", Verdict.SECRET, "R1", why,
                            facet="internal-stage",
                        )
                    )  # fmt: skip
                continue
            is_status = status is not None and status.key == stage.key
            now = Verdict.SHOWN if is_status else Verdict.NEITHER
            rule_now = "R2" if is_status else "R1"
            why_now = "the customer's status" if is_status else "a visible stage"
            if stage.label is not None:
                why = "a visible stage with a customer label: its staff name is never shown"
                for name in stage.names:
                    out.append(
                        Judgement(
                            name, f"staff name of {what}", Verdict.SECRET, "R1", why,
                            facet="staff-name",
                        )
                    )  # fmt: skip
                out.append(Judgement(stage.label, f"label of {what}", now, rule_now, why_now))
            else:
                out.append(Judgement(stage.name, f"name of {what}", now, rule_now, why_now))
                for name in stage.names[:-1]:
                    out.append(
                        Judgement(name, f"old name of {what}", Verdict.NEITHER, "R1", "renamed")
                    )
            for label in filter(None, stage.labels):
                if label is not stage.label:
                    out.append(
                        Judgement(label, f"old label of {what}", Verdict.NEITHER, "R1", "changed")
                    )
        return out

    def _fields(self) -> list[Judgement]:
        out = []
        for item in self.fields:
            what = item.describe(self)
            fails = self.field_fails(item)
            amounts = item.type == "money"
            if fails:
                why = "; ".join(reason for _facet, reason in fails)
                facet = fails[0][0]
                out.append(
                    Judgement(
                        item.label, f"label of {what}", Verdict.SECRET, "R4", why, facet=facet
                    )
                )
                for value in filter(None, item.values):
                    out.append(
                        Judgement(
                            value,
                            f"value of {what}",
                            Verdict.SECRET,
                            "R4",
                            why,
                            admin_sees=amounts and value is item.current,
                            facet=facet,
                        )
                    )
                continue
            if item.type == "file":
                # The field is shown; what it names follows each file (R5, judged in _files).
                shown = any(self.file_visible(self.files[k]) for k in item.files)
                has_value = shown
            else:
                has_value = item.current is not None
            # A field the customer may see, with nothing in it yet, may or may not be listed.
            label_verdict = Verdict.SHOWN if has_value else Verdict.NEITHER
            out.append(Judgement(item.label, f"label of {what}", label_verdict, "R4", "passes R4"))
            for value in filter(None, item.values):
                current = value is item.current
                out.append(
                    Judgement(
                        value,
                        f"{'current' if current else 'earlier'} value of {what}",
                        Verdict.SHOWN if current else Verdict.NEITHER,
                        "R4",
                        "passes R4" + ("" if current else " (an earlier value)"),
                        admin_sees=amounts and current,
                    )
                )
        return out

    def _messages(self) -> list[Judgement]:
        out = []
        for message in self.messages:
            if message.visible:
                out.append(
                    Judgement(
                        message.body,
                        f"body of reply #{message.key}",
                        Verdict.SHOWN,
                        "R6",
                        "a reply to the customer",
                        emailed=True,
                    )
                )
            else:
                what = "reply made internal later" if message.reply else "internal note"
                out.append(
                    Judgement(
                        message.body,
                        f"body of {what} #{message.key}",
                        Verdict.SECRET,
                        "R6",
                        f"an {what}" if not message.reply else f"a {what}",
                        facet="reply-made-internal" if message.reply else "note",
                    )
                )
        return out

    def file_rule(self, file: MFile) -> str:
        """A file stored in a file-type field is named through that field (R5); any other
        file only through the job's files and history (R7)."""
        return "R5" if file.field is not None else "R7"

    def describe_file(self, file: MFile) -> str:
        where = []
        if file.message is not None:
            where.append(f"attached to message #{file.message}")
        if file.request is not None:
            where.append(f"uploaded by the customer into request #{file.request}")
        if file.field is not None:
            where.append(f"stored in {self.fields[file.field].describe(self)}")
        setting = "visible" if file.visibility_visible else "internal"
        return f"file #{file.key} ({setting}{', ' if where else ''}{', '.join(where)})"

    def _files(self) -> list[Judgement]:
        out = []
        for file in self.files:
            what = self.describe_file(file)
            hidden = self.file_hidden(file)
            rule = self.file_rule(file)
            if hidden:
                why = "; ".join(reason for _facet, reason in hidden)
                facet = hidden[0][0]
                if rule == "R5":
                    why += " (R5: a field value that points at a file follows that file)"
                out.append(
                    Judgement(file.name, f"name of {what}", Verdict.SECRET, rule, why, facet=facet)
                )
                out.append(
                    Judgement(
                        file.content, f"content of {what}", Verdict.SECRET, "R7", why,
                        facet="content",
                    )
                )  # fmt: skip
            else:
                out.append(
                    Judgement(
                        file.name,
                        f"name of {what}",
                        Verdict.SHOWN,
                        "R7",
                        "a customer-visible file",
                        emailed=file.shared_by_staff,
                    )
                )
                out.append(
                    Judgement(file.content, f"content of {what}", Verdict.NEITHER, "R7", "visible")
                )
        return out

    def _requests(self) -> list[Judgement]:
        out = []
        for request in self.requests:
            what = f"document request #{request.key}"
            why = "document requests are addressed to the customer"
            out.append(Judgement(request.title, f"title of {what}", Verdict.SHOWN, "R8", why))
            if request.description is not None:
                out.append(
                    Judgement(
                        request.description, f"description of {what}", Verdict.SHOWN, "R8", why
                    )
                )
        return out

    def _titles(self) -> list[Judgement]:
        out = []
        for index, title in enumerate(self.titles):
            current = index == len(self.titles) - 1
            out.append(
                Judgement(
                    title,
                    "the job's title" if current else "an earlier title of the job",
                    Verdict.SHOWN if current else Verdict.NEITHER,
                    "R9",
                    "title changes are visible",
                )
            )
        return out

    # --- visits (V1–V4) ------------------------------------------------------------------------

    def visit_off_job(self, visit: MVisit) -> tuple[str, str] | None:
        """V3: why the visit is not on this customer's job, as (facet, reason); None: it is."""
        if visit.whose == Whose.BLOCK:
            return "internal-block", "an internal block (no customer, no job)"
        if visit.whose == Whose.OTHER:
            return "other-customer", "another customer's visit"
        if visit.detached:
            return "detached", "a visit detached from the job"
        return None

    def visit_not_listed(self, visit: MVisit) -> str | None:
        """Why V2 does not require a visit on the customer's job to be shown; None: it does."""
        if not self.bookings_module:
            return "the Bookings module is off"
        if visit.status not in LISTED_STATUSES:
            return "a no-show: V2 names scheduled, completed and cancelled visits only"
        return None

    def visit_calendar_status(self, visit: MVisit) -> tuple[int | None, str, str]:
        """What the customer's /user/visits/<id>.ics answers: 200 for a visit V2 shows, 404
        for any other (a no-show on the job: either), with the rule and reason."""
        off = self.visit_off_job(visit)
        if off is not None:
            return 404, "V3", off[1]
        if not self.bookings_module:
            return 404, "V2", "the Bookings module is off"
        if visit.status not in LISTED_STATUSES:
            return None, "V2", "a no-show"
        return 200, "V2", "a visit on the customer's job"

    def _visits(self) -> list[Judgement]:
        out = [
            Judgement(
                Marker(NO_SHOW_WORD, any_case=True),
                'the words "no-show"/"No-show"',
                Verdict.SECRET,
                "V4",
                "a no-show is never called a no-show to the customer",
                facet="no-show",
            )
        ]
        for visit in self.visits:
            what = visit.describe()
            out.append(
                Judgement(
                    visit.internal_notes, f"internal notes of {what}", Verdict.SECRET, "V1",
                    "a visit's internal notes never reach the customer", facet="internal-notes",
                )
            )  # fmt: skip
            parts = (
                ("title", visit.title),
                ("place", visit.location),
                ("customer notes", visit.customer_notes),
            )
            off = self.visit_off_job(visit)
            exception = self.visit_not_listed(visit)
            for name, marker in parts:
                if off is not None:
                    facet, why = off
                    judgement = Judgement(
                        marker, f"{name} of {what}", Verdict.SECRET, "V3",
                        f"{why}: it never reaches this customer", facet=facet,
                    )  # fmt: skip
                elif exception is not None:
                    judgement = Judgement(
                        marker, f"{name} of {what}", Verdict.NEITHER, "V2", exception
                    )
                else:
                    judgement = Judgement(
                        marker, f"{name} of {what}", Verdict.SHOWN, "V2",
                        "a visit on the customer's job", in_visit_lists=True,
                    )  # fmt: skip
                out.append(judgement)
        return out

    # --- money for the customer (M1–M3) and approvals (A1–A2) -------------------------------

    def _money(self) -> list[Judgement]:
        out = []
        for instalment in self.instalments:
            what = instalment.describe()
            if instalment.invoice is None:
                why = "an instalment never requested: the schedule is staff's plan"
                out.append(
                    Judgement(
                        instalment.label, f"label of {what}", Verdict.SECRET, "M1", why,
                        facet="scheduled-label",
                    )
                )  # fmt: skip
                values = {decimal_of(v) for v in self.values}
                for amount in instalment.amounts:
                    if decimal_of(amount) in values:
                        continue  # a lone balance is the job's value, which approvals show
                    out.append(
                        Judgement(
                            amount, f"amount of {what}", Verdict.SECRET, "M1", why,
                            facet="scheduled-amount",
                        )
                    )  # fmt: skip
                continue
            invoice = self.invoices[instalment.invoice]
            if invoice.void or invoice.owed <= 0:
                continue  # paid or void: its invoice page and history may name it, or not
            why = "a payment requested of the customer, not yet paid"
            out.append(Judgement(instalment.label, f"label of {what}", Verdict.SHOWN, "M2", why))
            out.append(
                Judgement(
                    amount_marker(invoice.owed), f"what is still owed on {what}", Verdict.SHOWN,
                    "M2", why,
                )
            )  # fmt: skip
        for invoice in self.invoices:
            if not invoice.other_customer:
                continue
            why = "another customer's invoice never reaches this customer"
            assert invoice.other_label is not None and invoice.other_amount is not None
            for marker, name in ((invoice.other_label, "label"), (invoice.other_amount, "amount")):
                out.append(
                    Judgement(
                        marker, f"{name} of the second customer's instalment", Verdict.SECRET,
                        "M3", why, facet="other-customer",
                    )
                )  # fmt: skip
        return out

    def invoice_status(self, invoice: MInvoice) -> tuple[int, str, str]:
        """What the customer's /user/invoices/<id>/ answers: 200 for every invoice of their
        job (a void one is a credit note), 404 for another customer's."""
        if invoice.other_customer:
            return 404, "M3", "another customer's invoice"
        return 200, "M2", "an invoice issued on the customer's job"

    def _approvals(self) -> list[Judgement]:
        out = []
        waiting = self.waiting_approval
        for approval in self.approvals:
            what = approval.describe()
            for message in approval.messages:
                if approval is waiting and message is approval.message:
                    out.append(
                        Judgement(
                            message, f"message of {what}", Verdict.SHOWN, "A1",
                            "what the customer is asked to approve",
                        )
                    )  # fmt: skip
            if approval.override_reason is not None:
                out.append(
                    Judgement(
                        approval.override_reason, f"override reason of {what}", Verdict.SECRET,
                        "A2", "an override is staff's decision, recorded internally",
                        facet="override-reason",
                    )
                )  # fmt: skip
        return out

    def money_markers(self) -> list[Judgement]:
        """S1: every amount ever saved in a money field, live or retired."""
        out = []
        for item in self.fields:
            if item.type != "money":
                continue
            for value in filter(None, item.values):
                out.append(
                    Judgement(
                        value,
                        f"amount in {item.describe(self)}",
                        Verdict.SECRET,
                        "S1",
                        "Staff-role members never see amounts",
                        admin_sees=value is item.current,
                    )
                )
        staff_never = "Staff-role members never see amounts"
        for value in self.values:
            out.append(
                Judgement(
                    value, "the job's value", Verdict.SECRET, "S1", staff_never,
                    admin_sees=value is self.values[-1],
                )
            )  # fmt: skip
        for instalment in self.instalments:
            for amount in instalment.amounts:
                current = amount is instalment.amounts[-1] and instalment.state != Paid.VOID
                out.append(
                    Judgement(
                        amount, f"amount of {instalment.describe()}", Verdict.SECRET, "S1",
                        staff_never, admin_sees=current,
                    )
                )  # fmt: skip
        for payment in self.payments:
            if payment.marker is not None:
                out.append(
                    Judgement(
                        payment.marker, f"part payment #{payment.key}", Verdict.SECRET, "S1",
                        staff_never, admin_sees=True,
                    )
                )  # fmt: skip
        return out
