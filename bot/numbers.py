"""Whole numbers typed by people (command arguments, ports, menu choices), read safely.

`str.isdigit()` is true for `²` and `٣`, which `int()` refuses or reads unexpectedly, and for a
5,000-digit string, which `int()` refuses too; SQLite stores integers up to 2**63 - 1 and raises
OverflowError beyond. `whole_number` accepts ASCII digits only, within a range, and says None
otherwise, so the caller answers with its usage line instead of an exception.
"""

from __future__ import annotations

SQLITE_MAX_INTEGER = 2**63 - 1


def whole_number(text: str, *, low: int = 0, high: int = SQLITE_MAX_INTEGER) -> int | None:
    """The number `text` writes in ASCII digits (no sign, no spaces) if it is within low..high."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None


def id_value(value: object) -> int:
    """A row id carried in a button's JSON value: an int in SQLite's range, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SQLITE_MAX_INTEGER:
        raise ValueError(f"not an id: {value!r}")
    return value
