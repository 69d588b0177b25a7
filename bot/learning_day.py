"""Time-zone math of the learning day: a learner's local date, the day starting at 04:00 local.

01:30 on Tuesday local belongs to Monday's learning day (as in Anki: a late-night session counts for
the day it continues). Local wall-clock times are turned into UTC with zoneinfo, DST-safe:

- a local time that does not exist (the clock jumps 02:00 -> 03:00) is moved forward by the jump:
  02:30 -> 03:30 (PEP 495's fold=0 reading, the same as java.time);
- a local time that happens twice (the clock goes 03:00 -> 02:00) means the first of the two.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_STARTS_AT = time(4, 0)  # local time at which a learning day begins


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError with a message fit for a user if there is none."""
    try:
        if not name or name != name.strip():
            raise ValueError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone; use an IANA name such as Europe/Berlin, "
                         "America/New_York or UTC") from None


def require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a naive datetime has no time zone: {moment!r}; pass an aware one (UTC)")
    return moment


def learning_day(moment: datetime, tz: str) -> date:
    """The learning day that `moment` (aware) falls in for someone living in `tz`."""
    local = require_aware(moment).astimezone(zone(tz))
    day = local.date()
    return day - timedelta(days=1) if local.time() < DAY_STARTS_AT else day


def local_to_utc(day: date, at: time, tz: str) -> datetime:
    """The UTC moment of wall-clock `at` on calendar date `day` in `tz` (see the module doc for
    times that do not exist or happen twice)."""
    local = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone(tz))
    return local.astimezone(UTC)


def day_start(day: date, tz: str) -> datetime:
    """When learning day `day` begins, in UTC (04:00 local on that date)."""
    return local_to_utc(day, DAY_STARTS_AT, tz)


def day_end(day: date, tz: str) -> datetime:
    """When learning day `day` ends (the next one begins), in UTC. 23 or 25 hours after the start
    on the days the clocks change."""
    return day_start(day + timedelta(days=1), tz)


def starts_a_day(moment: datetime, tz: str) -> bool:
    """Whether `moment` is the start of a learning day in `tz` (where due dates fall: bot/srs.py)."""
    local = require_aware(moment).astimezone(zone(tz))
    return local.time() == DAY_STARTS_AT


def delivery_moment(day: date, at: time, tz: str) -> datetime:
    """When the daily review of learning day `day` is due, in UTC: local time `at` on that date, or on
    the next calendar date when `at` is before 04:00 (01:00 belongs to the day before)."""
    calendar_day = day + timedelta(days=1) if at < DAY_STARTS_AT else day
    return local_to_utc(calendar_day, at, tz)


# Possessive `*+`: adjacent optional runs of spaces must not be tried at every split (quadratic).
_CLOCK = re.compile(r"^\s*+(\d{1,2})(?:[:.h](\d{2}))?\s*+([ap]\.?m\.?)?\s*+$", re.IGNORECASE)


def parse_clock_time(text: str) -> time:
    """`08:30`, `8:30`, `8.30`, `8h30`, `8am`, `8:30 pm`, `20:30` -> a time (minutes precision).
    ValueError with a message fit for a user otherwise."""
    match = _CLOCK.match(text)
    hour = minute = -1
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        suffix = (match.group(3) or "").replace(".", "").lower()
        if suffix:
            hour = -1 if not 1 <= hour <= 12 else hour % 12 + (12 if suffix == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{text.strip()!r} is not a time of day; write it as HH:MM, e.g. 08:30 or 17:45")
    return time(hour, minute)


def format_clock_time(at: time) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"
