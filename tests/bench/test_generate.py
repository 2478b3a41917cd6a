"""`make bench` builds its workspace through the real services: a small run of the same
generator, so a change to the services cannot silently break the benchmark."""

from __future__ import annotations

import pytest

import bench
from bench import generate
from jobline.jobs.models import Activity, Job


@pytest.mark.django_db(transaction=True)
def test_the_generator_builds_a_complete_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    per_pipeline = {"standard": 12, "renovation": 4, "beauty": 4, "legal": 4, "repair": 4}
    monkeypatch.setattr(generate, "JOBS_PER_PIPELINE", per_pipeline)
    monkeypatch.setattr(bench, "JOB_COUNT", sum(per_pipeline.values()))
    monkeypatch.setattr(bench, "ACTIVITY_COUNT", 3_000)
    monkeypatch.setattr(bench, "CUSTOMER_COUNT", 30)
    monkeypatch.setattr(bench, "FEED_JOB_ENTRIES", 1_000)

    generate.generate(chunk=10)

    status = generate.workspace_status()
    assert generate.is_complete(status), status
    assert Job.objects.filter(workspace=status["workspace"]).count() == 28
    assert Activity.objects.filter(job__number=bench.FEED_JOB_NUMBER).count() == 1_000
