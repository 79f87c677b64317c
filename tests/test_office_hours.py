"""What a handoff or lead promises about when staff reply, at frozen times."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.staff.office_hours import OfficeHours

NY = ZoneInfo("America/New_York")
HOURS = OfficeHours.parse("mon-fri 09:00-17:00; sat 10:00-14:00", "America/New_York")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 28, 23, 0, tzinfo=NY), "on Monday after 9:00 AM"),  # Saturday 11 pm
        (datetime(2026, 11, 27, 18, 30, tzinfo=NY), "tomorrow after 10:00 AM"),  # Friday evening
        (datetime(2026, 11, 24, 7, 15, tzinfo=NY), "today after 9:00 AM"),  # Tuesday early
    ],
)
def test_closed_office_says_when_staff_reply(now: datetime, expected: str) -> None:
    assert not HOURS.is_open(now)
    message = HOURS.reply_expectation(now)
    assert "closed right now" in message and expected in message


def test_open_office() -> None:
    now = datetime(2026, 11, 24, 11, 0, tzinfo=NY)
    assert HOURS.is_open(now)
    assert "in the office now" in HOURS.reply_expectation(now)


def test_time_zones_are_respected() -> None:
    # 15:00 UTC on a Tuesday is 10:00 in New York: open.
    assert HOURS.is_open(datetime(2026, 11, 24, 15, 0, tzinfo=ZoneInfo("UTC")))


def test_bad_specification_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="expected e.g."):
        OfficeHours.parse("weekdays 9 to 5", "America/New_York")
