"""The one text form of a moment in the database: UTC ISO-8601 with microseconds and `+00:00`.

A fixed width form makes string comparison in SQL (`due < ?`) the same as time comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """`2024-03-29T20:32:32.250000+00:00` for any aware datetime; naive ones are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a naive datetime has no time zone: {moment!r}; pass an aware one (UTC)")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse(text: str) -> datetime:
    """Inverse of `iso`: an aware datetime in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


def parse_optional(text: str | None) -> datetime | None:
    return None if text is None else parse(text)
