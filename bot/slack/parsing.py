"""Parse the text of `/tutor` commands: pure functions, no Slack calls, messages fit to show a user.

Channel mentions arrive as Slack escapes them in command text (`<#C123|general>`, with the
manifest's `should_escape: true`); a bare `#name` or channel id is accepted too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.numbers import whole_number
from storage.slack_state import WEEKDAYS


class CommandError(ValueError):
    """Command text that cannot be understood; the message says what was expected."""


class Verb(StrEnum):
    HELP = "help"
    JOIN = "join"
    LEAVE = "leave"
    TIME = "time"
    PAUSE = "pause"
    RESUME = "resume"
    REVIEW = "review"
    TEST = "test"
    STATS = "stats"
    DECKS = "decks"
    SCHEDULE = "schedule"
    SCHEDULES = "schedules"
    UNSCHEDULE = "unschedule"
    IMPORT = "import"
    ASSIGN = "assign"
    UNASSIGN = "unassign"


ADMIN_VERBS = frozenset({Verb.SCHEDULE, Verb.SCHEDULES, Verb.UNSCHEDULE, Verb.IMPORT, Verb.ASSIGN,
                         Verb.UNASSIGN})


@dataclass(frozen=True)
class Command:
    verb: Verb
    args: tuple[str, ...]


def parse_command(text: str) -> Command:
    """`/tutor` text -> verb and arguments. Empty text is help."""
    words = text.split()
    if not words:
        return Command(Verb.HELP, ())
    head = words[0].casefold()
    try:
        verb = Verb(head)
    except ValueError:
        raise CommandError(f"I don't know `{words[0]}`. Try `/tutor help`.") from None
    return Command(verb, tuple(words[1:]))


_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*+(am|pm)?$", re.IGNORECASE)  # *+: no backtracking


def parse_time(text: str) -> time:
    """`08:30`, `8:30`, `17:00`, `8am`, `5:30pm` -> a wall-clock time."""
    match = _TIME.match(text.strip())
    if not match:
        raise CommandError(f"`{text}` is not a time; write it like 08:30 or 17:00.")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").casefold()
    if suffix:
        if not 1 <= hour <= 12:
            raise CommandError(f"`{text}` is not a time; write it like 8:30am or 17:00.")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    elif match.group(2) is None:
        raise CommandError(f"`{text}` is not a time; write it like 08:30 or 17:00.")
    if hour > 23 or minute > 59:
        raise CommandError(f"`{text}` is not a time of day (00:00-23:59).")
    return time(hour, minute)


_DAY_ALIASES = {"daily": tuple(range(7)), "everyday": tuple(range(7)), "weekdays": tuple(range(5)),
                "weekends": (5, 6)}


_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(word: str) -> int:
    key = word.casefold()
    for index, name in enumerate(_FULL_DAYS):
        if len(key) >= 3 and name.startswith(key):
            return index
    raise CommandError(f"`{word}` is not a day; use mon, tue, wed, thu, fri, sat, sun.")


def parse_days(text: str) -> tuple[int, ...]:
    """`mon-fri`, `mon,wed,fri`, `daily`, `weekdays`, `sat-sun` -> sorted weekday numbers (0 = Monday).
    A range may wrap (`fri-mon`)."""
    alias = _DAY_ALIASES.get(text.casefold())
    if alias is not None:
        return alias
    days: set[int] = set()
    for part in text.split(","):
        if not part:
            continue
        if "-" in part:
            first, _, last = part.partition("-")
            start, end = _weekday(first), _weekday(last)
            day = start
            days.add(day)
            while day != end:
                day = (day + 1) % 7
                days.add(day)
        else:
            days.add(_weekday(part))
    if not days:
        raise CommandError(f"`{text}` names no days; try mon-fri, mon,wed,fri or daily.")
    return tuple(sorted(days))


def looks_like_days(text: str) -> bool:
    try:
        parse_days(text)
    except CommandError:
        return False
    return True


def format_days(days: tuple[int, ...]) -> str:
    """The short form people write: daily, mon-fri, or a list."""
    if tuple(days) == tuple(range(7)):
        return "daily"
    if tuple(days) == tuple(range(5)):
        return "mon-fri"
    return ",".join(WEEKDAYS[d] for d in days)


def parse_zone(text: str) -> str | None:
    """An IANA zone name (case as written, e.g. Europe/Berlin, UTC), or None if it is not one."""
    if not re.match(r"^[A-Za-z][A-Za-z0-9_+\-/]*$", text):
        return None
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return text


@dataclass(frozen=True)
class ChannelRef:
    """A channel as written in a command: an id when Slack escaped it or one was typed, else a name."""

    id: str | None
    name: str | None

    @property
    def label(self) -> str:
        return f"<#{self.id}>" if self.id else f"#{self.name}"


_ESCAPED_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|([^>]*))?>$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_CHANNEL_NAME = re.compile(r"^#?([a-z0-9][a-z0-9._\-]{0,79})$")


def parse_channel(text: str) -> ChannelRef:
    match = _ESCAPED_CHANNEL.match(text)
    if match:
        return ChannelRef(id=match.group(1), name=match.group(2) or None)
    if _CHANNEL_ID.match(text):
        return ChannelRef(id=text, name=None)
    match = _CHANNEL_NAME.match(text)
    if match and text.startswith("#"):
        return ChannelRef(id=None, name=match.group(1))
    raise CommandError(f"`{text}` is not a channel; mention it like #general.")


@dataclass(frozen=True)
class ScheduleRequest:
    channel: ChannelRef
    deck: str
    at: time  # local to tz
    days: tuple[int, ...]
    tz: str
    close: time | None


SCHEDULE_USAGE = "/tutor schedule #channel DECK 09:00 [mon-fri] [Europe/Berlin] [close 17:00]"


def parse_schedule(args: tuple[str, ...], *, default_tz: str) -> ScheduleRequest:
    """`#channel DECK 09:00 [days] [TZ] [close HH:MM]` (the options in any order)."""
    if len(args) < 3:
        raise CommandError(f"Usage: `{SCHEDULE_USAGE}`")
    channel = parse_channel(args[0])
    deck = args[1]
    at = parse_time(args[2])
    days: tuple[int, ...] = tuple(range(7))
    tz, close = default_tz, None
    rest = list(args[3:])
    while rest:
        word = rest.pop(0)
        if word.casefold() == "close":
            if not rest:
                raise CommandError("`close` needs a time, like `close 17:00`.")
            close = parse_time(rest.pop(0))
        elif looks_like_days(word):
            days = parse_days(word)
        elif (zone := parse_zone(word)) is not None:
            tz = zone
        else:
            raise CommandError(f"`{word}` is neither days (mon-fri), a time zone (Europe/Berlin) nor "
                               f"`close HH:MM`. Usage: `{SCHEDULE_USAGE}`")
    if close is not None and close <= at:
        raise CommandError(f"The close time {close:%H:%M} must be after the post time {at:%H:%M}.")
    return ScheduleRequest(channel=channel, deck=deck, at=at, days=days, tz=tz, close=close)


def parse_schedule_id(args: tuple[str, ...]) -> int:
    schedule_id = whole_number(args[0].removeprefix("#"), low=1) if len(args) == 1 else None
    if schedule_id is None:
        raise CommandError("Usage: `/tutor unschedule ID` (the number `/tutor schedules` shows).")
    return schedule_id


@dataclass(frozen=True)
class AssignRequest:
    channel: ChannelRef
    deck: str
    at: time | None  # the daily DM time for members the assignment makes learners
    tz: str | None  # the zone of `at`; None: each member's own


ASSIGN_USAGE = "/tutor assign #channel DECK [08:30] [Europe/Berlin]"
UNASSIGN_USAGE = "/tutor unassign #channel DECK"


def parse_assign(args: tuple[str, ...]) -> AssignRequest:
    """`#channel DECK [HH:MM] [TZ]` (the time and the zone in either order; a zone needs a time)."""
    if len(args) < 2:
        raise CommandError(f"Usage: `{ASSIGN_USAGE}`")
    channel, deck = parse_channel(args[0]), args[1]
    at: time | None = None
    tz: str | None = None
    for word in args[2:]:
        if at is None and _TIME.match(word):
            at = parse_time(word)
        elif tz is None and (zone := parse_zone(word)) is not None:
            tz = zone
        else:
            raise CommandError(f"`{word}` is neither a time (08:30) nor a time zone (Europe/Berlin). "
                               f"Usage: `{ASSIGN_USAGE}`")
    if tz is not None and at is None:
        raise CommandError(f"A time zone goes with a time, like `08:30 {tz}`. Usage: `{ASSIGN_USAGE}`")
    return AssignRequest(channel=channel, deck=deck, at=at, tz=tz)


def parse_unassign(args: tuple[str, ...]) -> tuple[ChannelRef, str]:
    if len(args) != 2:
        raise CommandError(f"Usage: `{UNASSIGN_USAGE}`")
    return parse_channel(args[0]), args[1]
