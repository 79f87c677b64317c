"""The clinic's office hours, and the honest "when will staff reply" sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(
    r"^(?P<days>[a-z]{3}(?:-[a-z]{3})?(?:,[a-z]{3}(?:-[a-z]{3})?)*)\s+(?P<open>\d{1,2}:\d{2})-(?P<close>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True)
class OfficeHours:
    """Opening times per weekday (0 = Monday) in the clinic's time zone."""

    zone: ZoneInfo
    by_weekday: dict[int, tuple[time, time]]

    @classmethod
    def parse(cls, spec: str, timezone: str) -> OfficeHours:
        """Parse e.g. "mon-fri 09:00-17:00; sat 10:00-14:00"."""
        by_weekday: dict[int, tuple[time, time]] = {}
        for part in filter(None, (p.strip().lower() for p in spec.split(";"))):
            match = _SPEC.match(part)
            if not match:
                raise ValueError(f"office hours {part!r}: expected e.g. 'mon-fri 09:00-17:00'")
            opens, closes = (
                time.fromisoformat(match["open"].zfill(5)),
                time.fromisoformat(match["close"].zfill(5)),
            )
            for days in match["days"].split(","):
                first, _, last = days.partition("-")
                start, end = DAYS.index(first), DAYS.index(last or first)
                for day in range(start, end + 1):
                    by_weekday[day] = (opens, closes)
        return cls(zone=ZoneInfo(timezone), by_weekday=by_weekday)

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.zone)
        hours = self.by_weekday.get(local.weekday())
        return hours is not None and hours[0] <= local.time() < hours[1]

    def next_opening(self, now: datetime) -> datetime | None:
        local = now.astimezone(self.zone)
        for offset in range(0, 8):
            day = local.date() + timedelta(days=offset)
            hours = self.by_weekday.get(day.weekday())
            if hours is None:
                continue
            opening = datetime.combine(day, hours[0], tzinfo=self.zone)
            if opening > local:
                return opening
        return None

    def reply_expectation(self, now: datetime) -> str:
        """One sentence telling the person when staff will reply."""
        if self.is_open(now):
            return (
                "Our team is in the office now and will get back to you today, "
                "usually within a few hours."
            )
        opening = self.next_opening(now)
        if opening is None:
            return (
                "Our office is closed right now; our team will get back to you as soon as they can."
            )
        local_now = now.astimezone(self.zone)
        if opening.date() == local_now.date():
            when = "today"
        elif opening.date() == local_now.date() + timedelta(days=1):
            when = "tomorrow"
        else:
            when = f"on {opening:%A}"
        clock = opening.strftime("%I:%M %p").lstrip("0")
        return (
            "Our office is closed right now. "
            f"Our team will get back to you {when} after {clock}, when we open."
        )
