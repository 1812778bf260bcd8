"""When a document is due for review: a table of review clocks (kb/review.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kb.review import ReviewClock

TODAY = date(2026, 12, 7)
JAN_1 = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
NOV_1 = datetime(2026, 11, 1, 23, 59)  # naive, as SQLite hands it back: UTC
DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("clock", "due", "overdue"),
    [
        (ReviewClock(None, None, JAN_1), None, False),  # no interval: never due
        (ReviewClock(30, None, None), None, False),  # nothing stored yet
        (ReviewClock(30, None, NOV_1), date(2026, 12, 1), True),
        (ReviewClock(36, None, NOV_1), date(2026, 12, 7), False),  # due today: not yet overdue
        (ReviewClock(35, None, NOV_1), date(2026, 12, 6), True),
        (ReviewClock(30, DEC_1, NOV_1), date(2026, 12, 31), False),  # reviewed since
        (ReviewClock(30, JAN_1, DEC_1), date(2026, 12, 31), False),  # a new version since
        (ReviewClock(30, JAN_1, JAN_1), date(2026, 1, 31), True),
    ],
)
def test_due_is_the_interval_after_the_later_of_review_and_version(
    clock: ReviewClock, due: date | None, overdue: bool
) -> None:
    assert clock.due() == due
    assert clock.overdue(TODAY) is overdue
