"""Customer approvals, from the written rule:
- a stage can require the customer's approval; a job entering it asks its customer (a
  customer-visible entry and e-mail); re-entering an approved stage asks nothing again;
- the job cannot move on past the stage until approved (moving back is always allowed); an
  Admin or Manager may override with a reason, which the feed records; Staff may not;
- the customer approves with their typed name (recorded with the time, the network address
  and a hash of what they approved) or requests changes with a message; approving twice, or
  a request since replaced, is refused with a message;
- only a material change reopens an approval given: a new file attached, or the job's value
  changing; anything else (a renamed job, a message edit) does not;
- the customer's answer notifies the job's owner (bell); another customer gets a 404;
- an internal stage cannot ask for approval."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from jobline.approvals import services
from jobline.approvals.models import Approval, ApprovalStatus
from jobline.billing import services as billing_services
from jobline.billing.services import InstalmentInput
from jobline.jobs.choices import ActivityKind, Visibility
from jobline.jobs.models import Activity, Job
from jobline.jobs.services import job_create, job_move, job_update
from jobline.jobs.uploads import attachment_add, attachment_set_visibility
from jobline.notifications.models import Notification
from jobline.pipelines.models import Pipeline, Stage
from jobline.pipelines.services import pipeline_create_from_blueprint, stage_update
from jobline.quotes import services as quote_services
from jobline.quotes.models import Quote
from jobline.quotes.services import LineInput
from tests.approvals.helpers import approve_as_customer
from tests.bookings.conftest import section, text_of
from tests.conftest import Cast, client_for, make_user


@pytest.fixture
def legal(cast: Cast) -> Pipeline:
    cast.workspace.portal_enabled = True
    cast.workspace.save()
    cast.customer.portal_user = make_user(cast.customer.email, cast.customer.name)
    cast.customer.save()
    return pipeline_create_from_blueprint(
        workspace=cast.workspace, blueprint_key="legal", actor=cast.admin
    )


def stage_of(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name, deleted_at__isnull=True)


def move(cast: Cast, job: Job, name: str, *, enforce: bool = True) -> Job:
    return job_move(job=Job.objects.get(pk=job.pk), stage=stage_of(job.pipeline, name),
                    actor=cast.admin, expected_version=None, enforce_required=enforce)  # fmt: skip


@pytest.fixture
def in_review(cast: Cast, legal: Pipeline) -> Job:
    """Priya's lease, owned by Sam, moved into Client review (which requires approval)."""
    job = job_create(workspace=cast.workspace, pipeline=legal, title="Lease renewal",
                     actor=cast.admin, owner=cast.staff, customer=cast.customer)  # fmt: skip
    for name in ("Research", "Draft", "Client review"):
        move(cast, job, name, enforce=False)
    return Job.objects.get(pk=job.pk)


def the_approval(job: Job) -> Approval:
    return Approval.objects.exclude(status=ApprovalStatus.SUPERSEDED).get(job=job)


def answer(cast: Cast, job: Job, approval: Approval, **data: str):  # type: ignore[no-untyped-def]
    return client_for(cast.customer.portal_user).post(
        f"/user/jobs/{job.pk}/approvals/{approval.pk}/", data
    )


def a_file(
    cast: Cast, job: Job, name: str = "draft-lease.pdf", visibility: str = Visibility.CUSTOMER
) -> Any:
    upload = SimpleUploadedFile(name, b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")
    return attachment_add(job=job, upload=upload, visibility=visibility, actor=cast.admin)


def test_entering_the_stage_asks_the_customer(cast: Cast, in_review: Job) -> None:
    approval = the_approval(in_review)
    assert approval.status == ApprovalStatus.PENDING
    assert approval.label == "Your review"
    entry = Activity.objects.get(job=in_review, kind=ActivityKind.APPROVAL_REQUESTED)
    assert entry.visibility == Visibility.CUSTOMER
    page = client_for(cast.customer.portal_user).get(f"/user/jobs/{in_review.pk}/")
    assert "Your approval is needed: Your review" in text_of(page.text)
    assert "asked for your approval: Your review" in text_of(page.text)


def test_the_job_cannot_move_on_until_approved(cast: Cast, in_review: Job) -> None:
    with pytest.raises(ValidationError) as refused:
        move(cast, in_review, "Filing")
    assert "Client review waits for the customer's approval" in str(refused.value)
    moved_back = move(cast, in_review, "Draft")  # back is always allowed
    assert moved_back.stage.name == "Draft"
    move(cast, in_review, "Client review")
    response = client_for(cast.staff).post(
        f"/jobs/{in_review.number}/move/",
        {
            "stage": stage_of(in_review.pipeline, "Filing").pk,
            "version": Job.objects.get(pk=in_review.pk).version,
        },
    )
    assert response.status_code == 400
    assert "waits for the customer's approval" in text_of(response.text)
    assert Job.objects.get(pk=in_review.pk).stage.name == "Client review"


def test_the_board_says_why_the_move_is_refused(cast: Cast, in_review: Job) -> None:
    response = client_for(cast.staff).post(
        f"/jobs/{in_review.number}/move/",
        {"stage": stage_of(in_review.pipeline, "Filing").pk, "from": "board",
         "version": Job.objects.get(pk=in_review.pk).version},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "waits for the customer's approval" in response.headers["HX-Trigger"]


def test_the_customer_approves_with_their_name_and_it_is_recorded(
    cast: Cast, in_review: Job
) -> None:
    approval = the_approval(in_review)
    refused = answer(cast, in_review, approval, answer="approve", name="  ")
    assert refused.status_code == 400
    assert "Type your name to approve." in text_of(refused.text)
    assert the_approval(in_review).status == ApprovalStatus.PENDING
    done = answer(cast, in_review, approval, answer="approve", name="Priya Natarajan")
    assert done.status_code == 302
    approved = the_approval(in_review)
    assert approved.status == ApprovalStatus.APPROVED
    assert approved.decided_name == "Priya Natarajan"
    assert approved.decided_ip == "127.0.0.1"
    assert approved.decided_hash == services.content_hash(approved)
    bell = Notification.objects.get(recipient=cast.staff, job=in_review)
    assert "approved Your review" in bell.text
    assert move(cast, in_review, "Filing").stage.name == "Filing"
    again = answer(cast, in_review, approval, answer="approve", name="Priya Natarajan")
    assert again.status_code in (400, 404)


def test_approving_twice_is_refused_with_a_message(cast: Cast, in_review: Job) -> None:
    approval = the_approval(in_review)
    answer(cast, in_review, approval, answer="approve", name="Priya")
    second = answer(cast, in_review, approval, answer="approve", name="Priya")
    assert second.status_code == 400
    assert "You approved this already." in text_of(second.text)
    assert Activity.objects.filter(job=in_review, kind=ActivityKind.APPROVED).count() == 1


def test_requesting_changes_then_a_superseded_request_cannot_be_answered(
    cast: Cast, in_review: Job
) -> None:
    first = the_approval(in_review)
    empty = answer(cast, in_review, first, answer="changes", message="")
    assert "Say what you would like changed." in text_of(empty.text)
    answer(cast, in_review, first, answer="changes", message="Clause 4 is wrong")
    assert the_approval(in_review).status == ApprovalStatus.CHANGES_REQUESTED
    with pytest.raises(ValidationError) as refused:
        move(cast, in_review, "Filing")
    assert "the customer asked for changes" in str(refused.value)
    client_for(cast.staff).post(f"/approvals/{first.pk}/edit/", {"message": "Clause 4 fixed"})
    second = the_approval(in_review)
    assert second.pk != first.pk and second.status == ApprovalStatus.PENDING
    assert second.message == "Clause 4 fixed"
    stale = answer(cast, in_review, first, answer="approve", name="Priya")
    assert stale.status_code == 404  # a replaced request is no longer the customer's to see
    assert answer(cast, in_review, second, answer="approve", name="Priya").status_code == 302


def test_an_override_needs_a_money_role_and_a_reason(cast: Cast, in_review: Job) -> None:
    approval = the_approval(in_review)
    url = f"/approvals/{approval.pk}/override/"
    assert client_for(cast.staff).post(url, {"reason": "In a hurry"}).status_code == 403
    client_for(cast.manager).post(url, {"reason": "  "})
    assert the_approval(in_review).status == ApprovalStatus.PENDING
    client_for(cast.manager).post(url, {"reason": "Approved on the phone"})
    overridden = the_approval(in_review)
    assert overridden.status == ApprovalStatus.OVERRIDDEN
    entry = Activity.objects.get(job=in_review, kind=ActivityKind.APPROVAL_OVERRIDDEN)
    assert entry.visibility == Visibility.INTERNAL
    assert entry.payload.reason == "Approved on the phone"
    assert move(cast, in_review, "Filing").stage.name == "Filing"
    page = client_for(cast.customer.portal_user).get(f"/user/jobs/{in_review.pk}/")
    assert "Approved on the phone" not in page.text


def test_reentering_an_approved_stage_asks_nothing_again(cast: Cast, in_review: Job) -> None:
    answer(cast, in_review, the_approval(in_review), answer="approve", name="Priya")
    move(cast, in_review, "Draft")
    move(cast, in_review, "Client review")
    assert Approval.objects.filter(job=in_review).count() == 1
    assert the_approval(in_review).status == ApprovalStatus.APPROVED


def test_a_new_file_reopens_an_approval_given(cast: Cast, in_review: Job) -> None:
    answer(cast, in_review, the_approval(in_review), answer="approve", name="Priya")
    given = the_approval(in_review)
    refused = client_for(cast.admin).post(
        f"/approvals/{given.pk}/edit/", {"message": "Other words"}
    )
    assert refused.status_code == 302
    assert the_approval(in_review).pk == given.pk  # a message alone does not reopen it
    attached = a_file(cast, in_review)
    client_for(cast.admin).post(
        f"/approvals/{given.pk}/edit/", {"message": "", "file": attached.pk}
    )
    reopened = the_approval(in_review)
    assert reopened.pk != given.pk and reopened.status == ApprovalStatus.PENDING
    assert reopened.changed == "A file was added"
    assert [f.pk for f in reopened.files.all()] == [attached.pk]
    page = client_for(cast.customer.portal_user).get(f"/user/jobs/{in_review.pk}/")
    assert "What changed: A file was added" in text_of(page.text)
    assert "draft-lease.pdf" in text_of(page.text)
    # Made internal later, the file is gone from the request, and its name from the page (the
    # visibility oracle found it still listed).
    attachment_set_visibility(attachment=attached, visibility=Visibility.INTERNAL, actor=cast.admin)
    page = client_for(cast.customer.portal_user).get(f"/user/jobs/{in_review.pk}/")
    assert "A file was added" in text_of(page.text)
    assert "draft-lease.pdf" not in page.text
    with pytest.raises(ValidationError):
        move(cast, in_review, "Filing")
    # What they approve now, and what the record hashes, is what they were shown: no file.
    answer(cast, in_review, reopened, answer="approve", name="Priya")
    approved = the_approval(in_review)
    assert approved.status == ApprovalStatus.APPROVED
    assert services.content_of(approved)["files"] == []
    assert approved.decided_hash == services.content_hash(approved)


def test_a_file_is_judged_as_it_is_now_when_attached(cast: Cast, in_review: Job) -> None:
    """What the customer can see of a file is read when it is attached, not taken from the
    caller's copy: the visibility oracle attached a file shared after it was loaded, and the
    service refused it from its stale internal visibility."""
    approval = the_approval(in_review)
    loaded = a_file(cast, in_review, "plan.pdf", visibility=Visibility.INTERNAL)
    attachment_set_visibility(attachment=loaded, visibility=Visibility.CUSTOMER, actor=cast.admin)
    assert loaded.visibility == Visibility.INTERNAL  # the copy in hand is the old one
    services.approval_edit(approval=approval, actor=cast.admin, message="", add_file=loaded)
    assert [f.pk for f in the_approval(in_review).files.all()] == [loaded.pk]
    # The other way round: shared when loaded, internal since: refused, nothing attached.
    second = a_file(cast, in_review, "old-plan.pdf")
    attachment_set_visibility(attachment=second, visibility=Visibility.INTERNAL, actor=cast.admin)
    with pytest.raises(ValidationError, match="the customer can see"):
        services.approval_edit(approval=approval, actor=cast.admin, message="", add_file=second)
    assert [f.pk for f in the_approval(in_review).files.all()] == [loaded.pk]


def test_the_value_changing_reopens_it_and_other_changes_do_not(cast: Cast, in_review: Job) -> None:
    answer(cast, in_review, the_approval(in_review), answer="approve", name="Priya")
    given = the_approval(in_review)
    job_update(job=Job.objects.get(pk=in_review.pk), actor=cast.admin, expected_version=None,
               title="Lease renewal (shop)")  # fmt: skip
    assert the_approval(in_review).pk == given.pk
    rows = [InstalmentInput(id=i.pk, label=i.label, amount_kind=i.amount_kind, percent=i.percent,
                            trigger=i.trigger, trigger_stage=i.trigger_stage)
            for i in in_review.instalments.all()]  # fmt: skip
    billing_services.schedule_save(job=Job.objects.get(pk=in_review.pk), value=Decimal(2400),
                                   rows=rows, actor=cast.admin, expected_version=None)  # fmt: skip
    reopened = the_approval(in_review)
    assert reopened.pk != given.pk and reopened.changed == "The job's value changed"
    assert reopened.value == Decimal("2400.00")
    entry = Activity.objects.filter(job=in_review, kind=ActivityKind.APPROVAL_REOPENED).get()
    assert "2400" not in str(entry.data) and "2,400" not in str(entry.data)


def test_another_customer_gets_404(cast: Cast, in_review: Job) -> None:
    tom = cast.second_customer
    tom.portal_user = make_user(tom.email, tom.name)
    tom.save()
    approval = the_approval(in_review)
    response = client_for(tom.portal_user).post(
        f"/user/jobs/{in_review.pk}/approvals/{approval.pk}/", {"answer": "approve", "name": "Tom"}
    )
    assert response.status_code == 404
    assert the_approval(in_review).status == ApprovalStatus.PENDING


def test_an_internal_stage_cannot_ask_for_approval(cast: Cast, legal: Pipeline) -> None:
    research = stage_of(legal, "Research")
    with pytest.raises(ValidationError) as refused:
        stage_update(stage=research, actor=cast.admin, visible_to_customer=False,
                     requires_approval=True)  # fmt: skip
    assert "an internal stage can't ask for approval" in str(refused.value)


def test_a_stage_made_internal_later_hides_its_approval_from_the_customer(
    cast: Cast, in_review: Job
) -> None:
    review = stage_of(in_review.pipeline, "Client review")
    stage_update(stage=review, actor=cast.admin, requires_approval=False,
                 visible_to_customer=False)  # fmt: skip
    page = client_for(cast.customer.portal_user).get(f"/user/jobs/{in_review.pk}/")
    assert "Your approval is needed" not in page.text
    assert "Your review" not in text_of(page.text)


def test_the_pipeline_editor_sets_it(cast: Cast, legal: Pipeline) -> None:
    draft = stage_of(legal, "Draft")
    page = client_for(cast.admin).get(f"/jobs/pipelines/stages/{draft.pk}/")
    assert page.status_code == 200
    assert "Customer approves" in text_of(page.text)


def test_staff_job_page_shows_the_approval(cast: Cast, in_review: Job) -> None:
    page = client_for(cast.staff).get(f"/jobs/{in_review.number}/")
    words = text_of(page.text)
    assert "Customer approval" in words and "Waiting for the customer" in words
    assert "Override the approval" not in words  # Staff cannot override
    assert "Override the approval" in text_of(
        client_for(cast.admin).get(f"/jobs/{in_review.number}/").text
    )


# ----------------------------------------------------------------------------- quote revisions


@pytest.fixture
def quoted_review(cast: Cast, legal: Pipeline) -> Job:
    """Priya's lease made from her quote Q-1001 (sent: revision 1, £1,200.00), straight into
    Client review (which asks for her approval)."""
    cast.workspace.module_quotes = True
    cast.workspace.save(update_fields=["module_quotes"])
    quote = quote_services.quote_send(
        quote=quote_services.quote_create(
            workspace=cast.workspace, actor=cast.admin, title="Lease renewal",
            customer=cast.customer,
            lines=[LineInput(description="Lease review", quantity=Decimal(1),
                             unit_price=Decimal("1200.00"))],
        ),
        actor=cast.admin,
    )  # fmt: skip
    return quote_services.quote_convert(
        quote=quote, actor=cast.admin, pipeline=legal, stage=stage_of(legal, "Client review"),
        without_acceptance=True,
    )  # fmt: skip


def attach_revision(client: Any, approval: Approval, key: str, message: str = "") -> Any:
    return client.post(f"/approvals/{approval.pk}/edit/", {"message": message, "document": key})


def test_a_quote_revision_attached_is_what_the_customer_approves(
    cast: Cast, quoted_review: Job
) -> None:
    asked = the_approval(quoted_review)
    staff_page = client_for(cast.staff).get(f"/jobs/{quoted_review.number}/")
    assert "Attach a quote revision" not in staff_page.text  # Staff may not read quotes
    admin_page = client_for(cast.admin).get(f"/jobs/{quoted_review.number}/")
    assert "Quote Q-1001, revision 1" in text_of(admin_page.text)
    revision = Quote.objects.get(job=quoted_review).revisions.get()
    key = f"quote-revision:{revision.pk}"
    # Staff cannot attach it either: the quote is not theirs to read.
    attach_revision(client_for(cast.staff), asked, key)
    assert the_approval(quoted_review).document == {}
    attach_revision(client_for(cast.admin), asked, key, message="Please check the price")
    open_request = the_approval(quoted_review)
    assert open_request.pk == asked.pk and open_request.status == ApprovalStatus.PENDING
    assert open_request.document["title"] == "Quote Q-1001, revision 1"
    assert open_request.changed == "Quote Q-1001, revision 1 attached"
    portal = text_of(
        client_for(cast.customer.portal_user).get(f"/user/jobs/{quoted_review.pk}/").text
    )
    assert "Attached: Quote Q-1001, revision 1 · £1,200.00" in portal
    preview = text_of(client_for(cast.staff).get(f"/jobs/{quoted_review.number}/as-customer/").text)
    assert "Quote Q-1001, revision 1" in preview and "1,200.00" not in preview
    answer(cast, quoted_review, open_request, answer="approve", name="Priya Patel")
    given = the_approval(quoted_review)
    assert given.status == ApprovalStatus.APPROVED
    # What was approved, hashed, includes the revision.
    assert given.decided_hash == services.content_hash(given)
    assert services.content_of(given)["document"]["key"] == key


def test_attaching_a_quote_revision_to_an_approval_given_asks_again(
    cast: Cast, quoted_review: Job
) -> None:
    answer(cast, quoted_review, the_approval(quoted_review), answer="approve", name="Priya")
    given = the_approval(quoted_review)
    revision = Quote.objects.get(job=quoted_review).revisions.get()
    attach_revision(client_for(cast.admin), given, f"quote-revision:{revision.pk}")
    reopened = the_approval(quoted_review)
    assert reopened.pk != given.pk and reopened.status == ApprovalStatus.PENDING
    assert reopened.changed == "Quote Q-1001, revision 1 attached"
    # The same revision again is no change: an approval given stays given.
    answer(cast, quoted_review, reopened, answer="approve", name="Priya")
    response = attach_revision(client_for(cast.admin), reopened, f"quote-revision:{revision.pk}")
    assert response.status_code == 302
    assert the_approval(quoted_review).pk == reopened.pk
    assert the_approval(quoted_review).status == ApprovalStatus.APPROVED


def test_a_revision_of_another_quote_is_refused(cast: Cast, quoted_review: Job) -> None:
    asked = the_approval(quoted_review)
    attach_revision(client_for(cast.admin), asked, "quote-revision:999999")
    assert the_approval(quoted_review).document == {}


def test_the_owners_dashboard_lists_a_job_waiting_for_approval_until_it_is_given(
    cast: Cast, in_review: Job
) -> None:
    """The written rule (issue 12, part 5): a job waits on its customer while an approval
    asked of them is unanswered; it shows on its owner's dashboard, naming the stage."""
    sam = client_for(cast.staff)
    page = sam.get("/dashboard/")
    assert page.status_code == 200
    waiting = text_of(section(page.text, "waiting-on-customers"))
    assert "Lease renewal" in waiting and "approval asked (Client review)" in waiting
    admins = text_of(section(client_for(cast.admin).get("/dashboard/").text,
                             "waiting-on-customers"))  # fmt: skip
    assert "Lease renewal" not in admins  # Sam's job, not the Admin's

    approve_as_customer(in_review)
    waiting = text_of(section(sam.get("/dashboard/").text, "waiting-on-customers"))
    assert "Lease renewal" not in waiting
