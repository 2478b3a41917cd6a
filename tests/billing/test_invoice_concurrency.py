"""Requests and payments under real concurrency (PostgreSQL): each call on its own connection,
all released together behind a barrier (tests/concurrency.py).

- Invoice numbers come from the workspace's locked sequence row: fifty instalments of ten jobs
  requested at once are INV-1001…INV-1050, no gap, no duplicate (the row itself is made by the
  first of them).
- A request locks the job first: the same instalment requested twice at once is invoiced once,
  and the other request is told it is already requested.
- A payment locks the job first too: two payments of everything owed, at once, record one.

SQLite serialises writers itself, so these are PostgreSQL only.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from jobline.billing import services
from jobline.billing.models import Instalment, InstalmentStatus, Invoice, InvoiceSequence, Payment
from jobline.jobs.models import Activity, ActivityKind
from jobline.pipelines.models import Pipeline
from tests.billing.conftest import balance, fixed, new_job, request, save
from tests.concurrency import run_together
from tests.conftest import Cast

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs a server with concurrent writers"
    ),
]

D = Decimal
JOBS, PER_JOB = 10, 5


def requester(cast: Cast, instalment: Instalment) -> Callable[[], Any]:
    def run() -> Invoice:
        return services.instalment_request(
            instalment=Instalment.objects.select_related("job").get(pk=instalment.pk),
            actor=cast.admin,
        )

    return run


@pytest.fixture
def fifty(cast: Cast, renovation: Pipeline) -> list[Instalment]:
    """Ten jobs of Priya's, each of five instalments: four of 100.00 and the balance."""
    instalments: list[Instalment] = []
    for number in range(JOBS):
        job = new_job(cast, renovation, title=f"Job {number}")
        rows = [fixed(f"Stage {i}", "100.00") for i in range(1, PER_JOB)] + [balance()]
        instalments += save(cast, job, "500.00", rows)
    assert len(instalments) == JOBS * PER_JOB
    return instalments


def test_fifty_simultaneous_requests_are_numbered_1001_to_1050_without_gaps(
    cast: Cast, fifty: list[Instalment]
) -> None:
    assert not InvoiceSequence.objects.exists()  # the first request makes the row
    results = run_together([requester(cast, i) for i in fifty])
    assert all(isinstance(r, Invoice) for r in results), results
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1001, 1001 + len(fifty)))
    assert sorted(r.number for r in results) == numbers
    # Each instalment got its own invoice, of its own amount.
    assert sorted(r.instalment_id for r in results) == sorted(i.pk for i in fifty)
    assert all(r.amount == D("100.00") for r in results)
    assert set(Instalment.objects.values_list("status", flat=True)) == {InstalmentStatus.REQUESTED}
    assert InvoiceSequence.objects.get(workspace=cast.workspace).next_number == 1051
    assert Activity.objects.filter(kind=ActivityKind.INSTALMENT_REQUESTED).count() == len(fifty)
    # The next request carries on from there.
    job = new_job(cast, fifty[0].job.pipeline, title="After")
    (one,) = save(cast, job, "10.00", [balance()])
    assert request(cast, one).reference == "INV-1051"


@pytest.mark.parametrize("requests", [2, 5])
def test_the_same_instalment_requested_at_once_is_invoiced_once(
    cast: Cast, fifty: list[Instalment], requests: int
) -> None:
    instalment = fifty[0]
    results = run_together([requester(cast, instalment)] * requests)
    invoices = [r for r in results if isinstance(r, Invoice)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(invoices), len(refused)) == (1, requests - 1), results
    assert all(f"The {instalment.label} is already requested." in r.messages for r in refused)
    assert invoices[0].reference == "INV-1001"
    assert Invoice.objects.filter(instalment=instalment).count() == 1
    assert InvoiceSequence.objects.get(workspace=cast.workspace).next_number == 1002
    entries = Activity.objects.filter(kind=ActivityKind.INSTALMENT_REQUESTED)
    assert entries.count() == 1


def test_two_payments_of_everything_owed_at_once_record_one(
    cast: Cast, fifty: list[Instalment]
) -> None:
    instalment = fifty[0]
    request(cast, instalment)

    def pay() -> Payment:
        return services.payment_record(
            instalment=Instalment.objects.select_related("job").get(pk=instalment.pk),
            amount="100.00",
            paid_on=services.local_today(cast.workspace),
            method="card",
            actor=cast.manager,
        )

    results = run_together([pay, pay])
    payments = [r for r in results if isinstance(r, Payment)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(payments), len(refused)) == (1, 1), results
    assert "paid in full" in " ".join(refused[0].messages)
    paid = Instalment.objects.get(pk=instalment.pk)
    assert (paid.status, paid.paid) == (InstalmentStatus.PAID, D("100.00"))
    assert Payment.objects.count() == 1
