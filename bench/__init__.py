"""`make bench`: a large generated workspace and the server time of the pages people wait on.

``python -m bench`` runs everything (see bench/README.md); ``bench.generate`` builds the data
once per database and ``bench.measure`` times the real views in-process.
"""

from __future__ import annotations

WORKSPACE_NAME = "Bench Co"
ADMIN_EMAIL = "admin@bench.jobline.test"

JOB_COUNT = 100_000
ACTIVITY_COUNT = 1_000_000
CUSTOMER_COUNT = 2_000
FIRST_NUMBER = 1001
# The job whose page is timed: it carries this many feed entries.
FEED_JOB_NUMBER = FIRST_NUMBER
FEED_JOB_ENTRIES = 5_000
# The job that is moved back and forth on the board.
MOVE_JOB_NUMBER = FIRST_NUMBER + 1
# The pipeline whose board is the stress case (blueprint key) and its open jobs.
STRESS_BLUEPRINT = "standard"
STRESS_OPEN_JOBS_MIN = 20_000
# A surname given to a handful of customers: searching it finds a few hundred jobs.
SEARCH_WORD = "Trevithick"
SEARCH_CUSTOMERS = 8
# Bookings (issue 11). The busiest week: WEEK_BOOKINGS visits, the same share for each of the
# 25 members, in the week starting on the first Monday 7 or more days after generation.
WEEK_BOOKINGS = 2_000
# The job whose page is timed with its visits (weekly visits, past and to come).
VISITS_JOB_NUMBER = FIRST_NUMBER + 2
VISITS_JOB_VISITS = 50
# The staff member whose private calendar feed is timed: this many bookings in all.
FEED_MEMBER_EMAIL = "staff05@bench.jobline.test"
FEED_MEMBER_BOOKINGS = 5_000
# Quotes (issue 11): this many, spread over the customers; the sent ones numbered from
# QUOTE_FIRST_NUMBER (QuoteNumberSequence's default). The quote list is timed filtered by
# QUOTE_LIST_STATUS, and searched for SEARCH_WORD (the surname of SEARCH_CUSTOMERS customers).
QUOTE_COUNT = 50_000
QUOTE_FIRST_NUMBER = 1001
QUOTE_LIST_STATUS = "accepted"
# Staged money (issue 12): every job has a schedule; this job's milestone is asked for on
# entering a stage, timed as "move into a trigger stage".
TRIGGER_JOB_NUMBER = FIRST_NUMBER + 4
