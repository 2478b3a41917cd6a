"""Demo jobs for `manage.py demo`: the five template pipelines and about sixty jobs with
histories that look real. Deterministic (seeded) and only ever added once."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Sequence

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from jobline.accounts.models import User
from jobline.customers.models import Customer
from jobline.jobs import services
from jobline.jobs.models import Job, Visibility
from jobline.jobs.requests import request_create
from jobline.jobs.uploads import attachments_add_stored, files_stored
from jobline.pipelines.blueprints import BLUEPRINTS
from jobline.pipelines.models import FieldType, Pipeline, Stage, StageField
from jobline.pipelines.services import pipeline_create_from_blueprint
from jobline.workspaces.models import Workspace

TITLES: dict[str, Sequence[str]] = {
    "renovation": [
        "Bathroom renovation", "Kitchen refit", "Loft conversion stairs", "Ensuite tiling",
        "Garden room electrics", "Utility room units", "Downstairs WC", "Sash window repair",
        "Porch rebuild", "Wet room conversion", "Skirting and architraves", "Patio doors",
    ],
    "beauty": [
        "Microblading package", "Lash lift course", "Brow lamination", "Skin peel course",
        "Microblading top-up", "Bridal brows", "Lash lift and tint", "Brow shaping course",
        "Microblading (ombre)", "Skin peel (3 sessions)", "Brow lamination refresh", "Lash tint",
    ],
    "legal": [
        "Purchase of 14 Quay Street", "Employment tribunal claim", "Lasting power of attorney",
        "Probate: estate of J. Pryce", "Lease renewal, Market Strand", "Sale of Flat 2",
        "Shareholder agreement", "Boundary dispute", "Will update", "Commercial lease review",
        "Remortgage", "Settlement agreement",
    ],
    "repair": [
        "iPhone 13 cracked screen", "Samsung S22 battery", "iPad Air charging port",
        "Pixel 7 camera fault", "MacBook Air keyboard", "iPhone 12 water damage",
        "Nintendo Switch joy-con drift", "Galaxy Tab screen", "iPhone SE home button",
        "OnePlus 11 speaker", "Apple Watch glass", "Surface Pro battery swell",
    ],
    "standard": [
        "Boiler service", "Gutter clearance", "Fence panel replacement", "Door re-hang",
        "Shed base", "Radiator swap", "Smoke alarm install", "Tap replacement",
        "Decking repair", "Garage door service", "Extractor fan install", "Outdoor socket",
    ],
}  # fmt: skip

NOTES = [
    "Called the customer, they prefer mornings.",
    "Supplier confirmed delivery for next week.",
    "Checked stock: need to reorder.",
    "Customer asked for a quote breakdown.",
    "Left a voicemail, will try again tomorrow.",
    "Parking is tight, use the side street.",
]
REPLIES = [
    "Thanks — we've booked you in and will confirm the time the day before.",
    "Quick update: everything is on track.",
    "Could you send a photo of the area? It helps us plan.",
    "All done! Let us know if anything isn't right.",
    "We're waiting on one part; we'll be in touch as soon as it arrives.",
]


def _demo_photo(name: str, colour: tuple[int, int, int], label: str) -> SimpleUploadedFile:
    """A small generated 'site photo': a sky-to-floor gradient with a caption."""
    width, height = 960, 720
    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = int(60 * y / height)
        draw.line(
            [(0, y), (width, y)],
            fill=(max(colour[0] - shade, 0), max(colour[1] - shade, 0), max(colour[2] - shade, 0)),
        )
    draw.rectangle([(width * 0.2, height * 0.35), (width * 0.8, height * 0.85)], outline="white",
                   width=6)  # fmt: skip
    draw.text((40, 40), label, fill="white", font_size=48)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


PHOTO_SETS = {
    "renovation": [("before.jpg", (120, 144, 156), "Before"), ("tiling.jpg", (176, 190, 197),
                   "Tiling in progress")],
    "repair": [("device-front.jpg", (38, 50, 56), "Device: front"), ("damage.jpg",
               (69, 90, 100), "Damage close-up")],
}  # fmt: skip


def _value_for(field: StageField, rng: random.Random) -> object:
    kind = field.field_type
    if kind == FieldType.CHECKBOX:
        return True
    if kind == FieldType.MONEY:
        return f"{rng.randrange(60, 4800)}.00"
    if kind == FieldType.NUMBER:
        return str(rng.randrange(1, 6))
    if kind == FieldType.DATE:
        return (timezone.localdate() + dt.timedelta(days=rng.randrange(-20, 20))).isoformat()
    if kind == FieldType.DROPDOWN:
        return rng.choice(field.options)
    if kind == FieldType.MULTI_DROPDOWN:
        return field.options[:1]
    if kind == FieldType.FILE:
        return None
    if kind == FieldType.LONG_TEXT:
        return rng.choice(["Checked on site.", "As discussed on the phone.", "See photos."])
    if field.label.startswith("IMEI"):
        return f"35{rng.randrange(10**12, 10**13)}"
    return rng.choice(["iPhone 13", "Galaxy S22", "Standard", "Confirmed", "Ref 4471"])


def _fill(job: Job, stage: Stage, actor: User, rng: random.Random, at: dt.datetime) -> None:
    fields = [f for f in stage.fields.filter(retired_at__isnull=True) if f.field_type != "file"]
    values = {f.pk: _value_for(f, rng) for f in fields}
    values = {k: v for k, v in values.items() if v is not None}
    if values:
        services.form_save_stored.step(
            job=job, stage=stage, values=values, actor=actor, expected_version=None, at=at
        )


def _message(job: Job, body: str, visibility: Visibility, actor: User, at: dt.datetime) -> None:
    services.message_post_stored.step(
        job=job, body=body, visibility=visibility, stored=(), actor=actor, at=at
    )


BLUEPRINT_NAMES = {blueprint.key: blueprint.name for blueprint in BLUEPRINTS}

PORTAL_JOBS = [
    # (pipeline key, title, stage to end in): one sitting in an internal stage, two with a
    # field the customer is asked to fill in.
    ("repair", "iPhone 14 Pro screen replacement", "Awaiting parts"),
    ("legal", "Purchase of 14 Quay Street — contract review", "Client review"),
    ("renovation", "Kitchen extension", "Install"),
]


def _portal_jobs(
    *, workspace: Workspace, customer: Customer, owner: User, rng: random.Random
) -> int:
    """The demo customer's three jobs in the portal."""
    created = 0
    now = timezone.now()
    for key, title, stage_name in PORTAL_JOBS:
        pipeline = Pipeline.objects.get(workspace=workspace, name=BLUEPRINT_NAMES[key])
        stages = list(pipeline.stages.filter(deleted_at__isnull=True).order_by("position"))
        moment = now - dt.timedelta(days=12)
        job = services.job_create.step(
            workspace=workspace, pipeline=pipeline, title=title, actor=owner, owner=owner,
            customer=customer, due_date=timezone.localdate() + dt.timedelta(days=21), at=moment,
        )  # fmt: skip
        for stage in stages[1:]:
            moment += dt.timedelta(days=2)
            _fill(job, job.stage, owner, rng, moment)
            # History as it happened: the gates that held the job (required fields are filled
            # just above; approvals, approvals.demo records) are not asked again.
            job = services.job_move.step(
                job=job,
                stage=stage,
                actor=owner,
                expected_version=None,
                at=moment,
                enforce_required=False,
            )
            if stage.name == stage_name:
                break
        _message(job, "Thanks for choosing us — we'll keep you posted here.",
                 Visibility.CUSTOMER, owner, moment + dt.timedelta(hours=1))  # fmt: skip
        if key == "renovation":
            request_create.step(
                job=job, title="Photo of the kitchen wall", actor=owner,
                description="A photo of the wall where the units go, with a tape measure.",
                due_date=timezone.localdate() + dt.timedelta(days=5),
            )  # fmt: skip
        _message(job, "Customer is happy to be contacted by text.", Visibility.INTERNAL, owner,
                 moment + dt.timedelta(hours=2))  # fmt: skip
        created += 1
    return created


@transaction.atomic
def add_demo_jobs(*, workspace: Workspace, staff: Sequence[User], seed: int = 7) -> int:
    """Create the template pipelines and their jobs, unless the workspace already has jobs."""
    if Job.objects.filter(workspace=workspace).exists():
        return 0
    rng = random.Random(seed)
    # The portal customer gets exactly the three jobs made for the portal, below.
    customers = list(
        Customer.objects.filter(workspace=workspace, portal_user__isnull=True).order_by("pk")
    )
    now = timezone.now()
    created = 0
    for blueprint in BLUEPRINTS:
        pipeline = Pipeline.objects.filter(workspace=workspace, name=blueprint.name).first()
        if pipeline is None:
            pipeline = pipeline_create_from_blueprint.step(
                workspace=workspace, blueprint_key=blueprint.key, actor=staff[0]
            )
        stages = list(pipeline.stages.filter(deleted_at__isnull=True).order_by("position"))
        open_stages = [s for s in stages if not s.is_terminal]
        for index, title in enumerate(TITLES[blueprint.key]):
            owner = staff[index % len(staff)]
            started = now - dt.timedelta(days=rng.randrange(8, 60), hours=rng.randrange(0, 12))
            due = None
            if index % 4 != 3:
                due = timezone.localdate() + dt.timedelta(days=rng.randrange(-12, 40))
            job = services.job_create.step(
                workspace=workspace,
                pipeline=pipeline,
                title=title,
                actor=staff[0],
                owner=owner,
                customer=customers[(index * 5 + len(title)) % len(customers)],
                due_date=due,
                at=started,
            )
            created += 1
            # Walk the job forward to a target stage; a few finish (won or lost).
            if index in (0, 1):
                target = next(s for s in stages if s.is_won)
            elif index == 2:
                target = next(s for s in stages if s.is_lost)
            else:
                target = open_stages[rng.randrange(0, len(open_stages))]
            moment = started
            current = job.stage
            for next_stage in stages:
                if next_stage.position <= current.position:
                    continue
                if next_stage.is_terminal and next_stage != target:
                    continue
                moment += dt.timedelta(days=rng.randrange(1, 4), hours=rng.randrange(1, 8))
                if moment > now:
                    moment = now - dt.timedelta(minutes=rng.randrange(5, 300))
                _fill(job, current, owner, rng, moment)
                job = services.job_move.step(
                    job=job,
                    stage=next_stage,
                    actor=owner,
                    expected_version=None,
                    at=moment,
                    enforce_required=False,
                )
                current = next_stage
                if rng.random() < 0.35:
                    _message(job, rng.choice(NOTES), Visibility.INTERNAL, owner,
                             moment + dt.timedelta(minutes=20))  # fmt: skip
                if rng.random() < 0.3:
                    _message(job, rng.choice(REPLIES), Visibility.CUSTOMER, owner,
                             moment + dt.timedelta(minutes=45))  # fmt: skip
                if next_stage == target:
                    break
            # A few jobs carry photos: the first two of the renovation and repair pipelines.
            if index < 2 and blueprint.key in PHOTO_SETS:
                photos = [_demo_photo(*spec) for spec in PHOTO_SETS[blueprint.key]]
                # Stored first, inside the demo's one transaction: a failed demo deletes them.
                with files_stored(photos) as stored:
                    attachments_add_stored.step(
                        job=job,
                        stored=stored.get(),
                        visibility=Visibility.CUSTOMER if index == 0 else Visibility.INTERNAL,
                        actor=owner,
                    )
    portal_customer = Customer.objects.filter(
        workspace=workspace, portal_user__isnull=False
    ).first()
    if portal_customer is not None:
        created += _portal_jobs(
            workspace=workspace, customer=portal_customer, owner=staff[-1], rng=rng
        )
    return created
