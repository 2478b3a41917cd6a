"""The visibility law as a property: for random jobs mixing internal and visible stages,
notes, replies, files and form fields — each carrying a unique marker — no internal marker
ever reaches a portal page or an e-mail the customer receives, and every visible one does.

CI runs 200 examples; `make leakcheck` runs 10,000 (LEAKCHECK_EXAMPLES).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from dataclasses import dataclass, field

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobline.jobs import services
from jobline.jobs.uploads import attachment_add
from jobline.notifications.delivery import deliver_due
from jobline.pipelines.models import POSITION_GAP, FieldType, Pipeline, Stage, StageField
from tests.conftest import Cast, client_for

EXAMPLES = int(os.environ.get("LEAKCHECK_EXAMPLES", "200"))
counter = itertools.count()


@dataclass
class Markers:
    secret: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    # Visible replies and files: the customer is also e-mailed about them.
    emailed: list[str] = field(default_factory=list)

    def new(self, visible: bool, emailed: bool = False) -> str:
        marker = f"{'shown' if visible else 'secret'}{next(counter):06d}q"
        (self.shown if visible else self.secret).append(marker)
        if visible and emailed:
            self.emailed.append(marker)
        return marker


stage_spec = st.fixed_dictionaries(
    {
        "visible": st.booleans(),
        "fields": st.lists(
            st.fixed_dictionaries({"visible": st.booleans(), "filled": st.booleans()}),
            max_size=2,
        ),
    }
)
job_spec = st.fixed_dictionaries(
    {
        "stages": st.lists(stage_spec, min_size=1, max_size=4),
        "path": st.lists(st.integers(min_value=0, max_value=3), max_size=5),
        "messages": st.lists(
            st.tuples(st.booleans(), st.booleans()), max_size=4
        ),  # (visible, later made internal)
        "files": st.lists(st.booleans(), max_size=3),
    }
)


def build(cast: Cast, spec: dict, markers: Markers) -> int:
    pipeline = Pipeline.objects.create(workspace=cast.workspace, name="Pipeline")
    stages = []
    for index, stage_spec_ in enumerate(spec["stages"], start=1):
        visible = stage_spec_["visible"]
        stage = Stage.objects.create(
            pipeline=pipeline,
            # A visible stage's name is shown on the stepper; an internal one never.
            name=markers.new(visible),
            position=index * POSITION_GAP,
            visible_to_customer=visible,
        )
        stage.spec = stage_spec_  # type: ignore[attr-defined]
        stages.append(stage)
    Stage.objects.create(
        pipeline=pipeline, name="Done", position=99 * POSITION_GAP, is_terminal=True
    )
    job = services.job_create(
        workspace=cast.workspace, pipeline=pipeline, title="Job", actor=cast.admin,
        customer=cast.customer,
    )  # fmt: skip
    reached = 0
    for step in spec["path"]:
        target = stages[step % len(stages)]
        services.job_move(
            job=job, stage=target, actor=cast.admin, expected_version=None, enforce_required=False
        )
    reached = max(s.position for s in stages if s.pk == job.stage_id)
    for stage in stages:
        values = {}
        for position, field_spec in enumerate(stage.spec["fields"]):  # type: ignore[attr-defined]
            # Internal fields' labels and values stay secret; visible fields show once their
            # stage is reached (the customer sees fields of stages the job has been to).
            shown = field_spec["visible"] and stage.position <= reached
            label_marker = markers.new(shown)
            stage_field = StageField.objects.create(
                stage=stage, label=label_marker, field_type=FieldType.TEXT,
                visible_to_customer=field_spec["visible"], position=position,
            )  # fmt: skip
            if not shown and field_spec["visible"]:
                # A visible field on a stage not reached yet: neither shown nor secret.
                markers.secret.remove(label_marker)
            if field_spec["filled"]:
                value = markers.new(shown)
                if not shown and field_spec["visible"]:
                    markers.secret.remove(value)
                values[stage_field.pk] = value
        if values:
            services.form_save(
                job=job, stage=stage, values=values, actor=cast.admin, expected_version=None
            )
    for visible, made_internal in spec["messages"]:
        # A reply made internal within the digest window is never e-mailed.
        body = markers.new(visible and not made_internal, emailed=True)
        message = services.message_add(
            job=job, body=body, visibility="customer" if visible else "internal", actor=cast.admin
        )
        if visible and made_internal:
            services.message_make_internal(message=message, actor=cast.admin)
    for visible in spec["files"]:
        name = markers.new(visible, emailed=True)
        attachment_add(
            job=job, upload=SimpleUploadedFile(f"{name}.txt", b"plain words"),
            visibility="customer" if visible else "internal", actor=cast.admin,
        )  # fmt: skip
    return job.pk


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=job_spec)
def test_no_internal_marker_reaches_the_portal_and_every_visible_one_does(
    portal: Cast, spec: dict
) -> None:
    customer = client_for(portal.customer.portal_user)
    mail.outbox.clear()
    with transaction.atomic():
        markers = Markers()
        job_id = build(portal, spec, markers)
        # Every e-mail the customer would get: the digest window is over, the worker runs.
        deliver_due(now=timezone.now() + dt.timedelta(hours=1))
        emails = [
            "\n".join([m.subject, m.body, *(content for content, _type in m.alternatives)])
            for m in mail.outbox
            if portal.customer.email in m.to
        ]
        pages = [
            customer.get("/user/jobs/").text,
            customer.get(f"/user/jobs/{job_id}/").text,
        ]
        everything = "\n".join(pages + emails)
        leaked = [m for m in markers.secret if m in everything]
        missing = [m for m in markers.shown if m not in pages[1]]
        not_emailed = [m for m in markers.emailed if not any(m in email for email in emails)]
        transaction.set_rollback(True)
    assert not leaked, f"internal markers on portal pages or in e-mails: {leaked}"
    assert not missing, f"visible markers missing from the job page: {missing}"
    assert not not_emailed, f"visible replies or files missing from the e-mails: {not_emailed}"
