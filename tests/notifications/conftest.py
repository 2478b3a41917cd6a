"""Notification tests use the jobs fixtures (a Device repair pipeline and a job in it) and the
portal's (the portal on, Priya and Tom with portal sign-ins and a job each)."""

from tests.jobs.conftest import job, repair  # noqa: F401  (fixtures)
from tests.portal.conftest import (  # noqa: F401  (fixtures)
    as_priya,
    as_tom,
    portal,
    priya,
    priya_job,
    tom_job,
)
