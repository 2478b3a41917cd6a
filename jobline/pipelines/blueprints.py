"""Ready-made pipelines, one per kind of work people run. "New pipeline from a template"."""

from __future__ import annotations

from dataclasses import dataclass, field

from jobline.pipelines.models import FieldType


@dataclass(frozen=True)
class FieldBlueprint:
    label: str
    field_type: FieldType = FieldType.TEXT
    required: bool = False
    help_text: str = ""
    options: tuple[str, ...] = ()
    visible_to_customer: bool = False
    editable_by_customer: bool = False
    # (label of another field of this stage, value) — show only when it holds that value.
    condition: tuple[str, str] | None = None


@dataclass(frozen=True)
class FollowUpBlueprint:
    """A follow-up the stage schedules (the follow-ups app makes it): due ``weeks`` after a job
    enters the stage, booked by a visit from ``from_weeks`` to ``to_weeks`` after."""

    label: str
    weeks: int
    from_weeks: int
    to_weeks: int
    email_customer: bool = False


@dataclass(frozen=True)
class StageBlueprint:
    name: str
    colour: str
    is_terminal: bool = False
    is_cancelled: bool = False
    visible_to_customer: bool = True
    customer_label: str = ""
    fields: tuple[FieldBlueprint, ...] = field(default_factory=tuple)
    requires_approval: bool = False
    follow_ups: tuple[FollowUpBlueprint, ...] = ()


@dataclass(frozen=True)
class InstalmentBlueprint:
    """One instalment of the template's default payment schedule, as plain words (the billing
    app, above, makes it: pipelines.hooks.pipeline_created)."""

    label: str
    amount_kind: str  # "percent", "fixed" or "balance"
    percent: str = ""  # for "percent": the share, as a decimal
    trigger: str = "manual"  # "stage", "won", "quote_accepted" or "manual"
    stage: str = ""  # for "stage": the stage's name


@dataclass(frozen=True)
class PipelineBlueprint:
    key: str
    name: str
    description: str
    stages: tuple[StageBlueprint, ...]
    schedule: tuple[InstalmentBlueprint, ...] = ()


BLUE, TEAL, AMBER, VIOLET = "#2563eb", "#0d9488", "#d97706", "#7c3aed"
SLATE, GREEN, RED, PINK, SKY = "#64748b", "#16a34a", "#dc2626", "#db2777", "#0284c7"

BLUEPRINTS: tuple[PipelineBlueprint, ...] = (
    PipelineBlueprint(
        key="renovation",
        name="Trades renovation",
        description="From the first quote to the final payment of a renovation.",
        stages=(
            StageBlueprint("Quote", SKY, fields=(
                FieldBlueprint("Scope of work", FieldType.LONG_TEXT, required=True,
                               visible_to_customer=True),
                FieldBlueprint("Quoted amount", FieldType.MONEY, required=True,
                               visible_to_customer=True),
            )),
            StageBlueprint("Deposit", BLUE, fields=(
                FieldBlueprint("Deposit received", FieldType.CHECKBOX, required=True),
                FieldBlueprint("Deposit amount", FieldType.MONEY, visible_to_customer=True),
            )),
            StageBlueprint("Materials ordered", AMBER, fields=(
                FieldBlueprint("Supplier", FieldType.TEXT),
                FieldBlueprint("Expected delivery", FieldType.DATE, visible_to_customer=True),
            )),
            StageBlueprint("Install", VIOLET, fields=(
                FieldBlueprint("Start date", FieldType.DATE, required=True,
                               visible_to_customer=True),
                FieldBlueprint("Site access notes", FieldType.LONG_TEXT,
                               visible_to_customer=True, editable_by_customer=True),
            )),
            StageBlueprint("Snag list", PINK, fields=(
                FieldBlueprint("Items", FieldType.LONG_TEXT, visible_to_customer=True,
                               editable_by_customer=True),
                FieldBlueprint("Photos", FieldType.FILE, visible_to_customer=True),
            )),
            StageBlueprint("Final payment", TEAL, fields=(
                FieldBlueprint("Final amount", FieldType.MONEY, required=True,
                               visible_to_customer=True),
            )),
            StageBlueprint("Completed", GREEN, is_terminal=True),
            StageBlueprint("Cancelled", RED, is_terminal=True, is_cancelled=True),
        ),
        schedule=(
            InstalmentBlueprint("Deposit", "percent", "30", "stage", "Deposit"),
            InstalmentBlueprint("Install", "percent", "40", "stage", "Install"),
            InstalmentBlueprint("Balance", "balance", trigger="stage", stage="Final payment"),
        ),
    ),
    PipelineBlueprint(
        key="beauty",
        name="Beauty treatment package",
        description="A treatment with its reviews, such as microblading.",
        stages=(
            StageBlueprint("Initial appointment", PINK, fields=(
                FieldBlueprint("Treatment", FieldType.DROPDOWN, required=True,
                               options=("Microblading", "Lash lift", "Brow lamination",
                                        "Skin peel course"), visible_to_customer=True),
                FieldBlueprint("Has allergies", FieldType.CHECKBOX, visible_to_customer=True,
                               editable_by_customer=True),
                FieldBlueprint("Allergy details", FieldType.LONG_TEXT, required=True,
                               visible_to_customer=True, editable_by_customer=True,
                               condition=("Has allergies", "true")),
                FieldBlueprint("Patch test date", FieldType.DATE),
            ), follow_ups=(
                FollowUpBlueprint("6-week review", 6, 4, 8, email_customer=True),
                FollowUpBlueprint("12-week check-in", 12, 10, 14, email_customer=True),
            )),
            StageBlueprint("6-week review", VIOLET, fields=(
                FieldBlueprint("Healing notes", FieldType.LONG_TEXT),
                FieldBlueprint("Top-up needed", FieldType.CHECKBOX, visible_to_customer=True),
            )),
            StageBlueprint("12-week check-in", BLUE, fields=(
                FieldBlueprint("Client satisfied", FieldType.CHECKBOX),
            )),
            StageBlueprint("Completed", GREEN, is_terminal=True),
            StageBlueprint("Cancelled", RED, is_terminal=True, is_cancelled=True),
        ),
        schedule=(
            InstalmentBlueprint("Booking deposit", "percent", "20", "quote_accepted"),
            InstalmentBlueprint("Balance", "balance", trigger="stage",
                                stage="Initial appointment"),
        ),
    ),
    PipelineBlueprint(
        key="legal",
        name="Legal matter",
        description="A matter from intake to filing.",
        stages=(
            StageBlueprint("Intake", SKY, fields=(
                FieldBlueprint("Matter type", FieldType.DROPDOWN, required=True,
                               options=("Conveyancing", "Employment", "Family", "Probate",
                                        "Commercial")),
                FieldBlueprint("Conflict check done", FieldType.CHECKBOX, required=True),
            )),
            StageBlueprint("Research", BLUE, fields=(
                FieldBlueprint("Key authorities", FieldType.LONG_TEXT),
            )),
            StageBlueprint("Draft", VIOLET, fields=(
                FieldBlueprint("Draft version", FieldType.NUMBER),
            )),
            StageBlueprint("Client review", AMBER, customer_label="Your review",
                           requires_approval=True, fields=(
                FieldBlueprint("Client comments", FieldType.LONG_TEXT, visible_to_customer=True,
                               editable_by_customer=True),
            )),
            StageBlueprint("Filing", TEAL, fields=(
                FieldBlueprint("Filing date", FieldType.DATE, required=True,
                               visible_to_customer=True),
                FieldBlueprint("Court reference", FieldType.TEXT, visible_to_customer=True),
            )),
            StageBlueprint("Closed", GREEN, is_terminal=True),
            StageBlueprint("Withdrawn", RED, is_terminal=True, is_cancelled=True),
        ),
        schedule=(
            InstalmentBlueprint("Money on account", "percent", "50", "stage", "Research"),
            InstalmentBlueprint("Final bill", "balance", trigger="won"),
        ),
    ),
    PipelineBlueprint(
        key="repair",
        name="Device repair",
        description="A device from drop-off to pickup.",
        stages=(
            StageBlueprint("Drop-off", SKY, customer_label="Received", fields=(
                FieldBlueprint("Device", FieldType.TEXT, required=True, visible_to_customer=True),
                FieldBlueprint("Reported fault", FieldType.LONG_TEXT, visible_to_customer=True),
            )),
            StageBlueprint("Diagnosis", BLUE, customer_label="Being checked", fields=(
                FieldBlueprint("Device model", FieldType.TEXT, required=True,
                               visible_to_customer=True),
                FieldBlueprint("Fault found", FieldType.LONG_TEXT, required=True,
                               visible_to_customer=True),
                FieldBlueprint("IMEI / serial", FieldType.TEXT, required=True),
            )),
            StageBlueprint("Quote", AMBER, fields=(
                FieldBlueprint("Repair price", FieldType.MONEY, required=True,
                               visible_to_customer=True),
            )),
            StageBlueprint("Approval", VIOLET, customer_label="Waiting for your approval",
                           requires_approval=True),
            StageBlueprint("Awaiting parts", SLATE, visible_to_customer=False, fields=(
                FieldBlueprint("Part ordered", FieldType.TEXT),
                FieldBlueprint("Supplier order number", FieldType.TEXT),
            )),
            StageBlueprint("Fix", TEAL, customer_label="Being repaired"),
            StageBlueprint("Ready for pickup", GREEN, fields=(
                FieldBlueprint("Tested OK", FieldType.CHECKBOX, required=True),
            )),
            StageBlueprint("Collected", GREEN, is_terminal=True),
            StageBlueprint("Returned unrepaired", RED, is_terminal=True, is_cancelled=True),
        ),
        schedule=(
            InstalmentBlueprint("Repair", "balance", trigger="stage", stage="Ready for pickup"),
        ),
    ),
    PipelineBlueprint(
        key="standard",
        name="Standard service",
        description="A general job: quote, deposit, work, review.",
        stages=(
            StageBlueprint("New", SKY),
            StageBlueprint("Quoted", BLUE, fields=(
                FieldBlueprint("Quoted amount", FieldType.MONEY, required=True,
                               visible_to_customer=True),
            )),
            StageBlueprint("Deposit paid", TEAL, fields=(
                FieldBlueprint("Deposit amount", FieldType.MONEY, required=True),
            )),
            StageBlueprint("In progress", VIOLET),
            StageBlueprint("Awaiting parts", SLATE, visible_to_customer=False),
            StageBlueprint("Final review", AMBER, fields=(
                FieldBlueprint("Customer signed off", FieldType.CHECKBOX,
                               visible_to_customer=True),
            )),
            StageBlueprint("Completed", GREEN, is_terminal=True),
            StageBlueprint("Cancelled", RED, is_terminal=True, is_cancelled=True),
        ),
        schedule=(
            InstalmentBlueprint("Deposit", "percent", "25", "quote_accepted"),
            InstalmentBlueprint("Balance", "balance", trigger="won"),
        ),
    ),
)  # fmt: skip

BLUEPRINTS_BY_KEY = {blueprint.key: blueprint for blueprint in BLUEPRINTS}
