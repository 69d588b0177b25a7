"""Time-zone names that come from outside this process (a Slack profile, a row stored earlier) and
that this server's tz database may lack: a zone newer than the installed tzdata, or a row written on
a machine with a newer one. Such a name must never stop the loop that reads it (every member's
daily DM, every channel's question of the day): it is replaced by a fallback, with a warning logged
once per owner (member or schedule) and zone, not at every minute's tick.
"""

from __future__ import annotations

import logging
import threading

from bot import learning_day as days

log = logging.getLogger(__name__)


def is_known_zone(name: str) -> bool:
    """True when this server's tz database has the IANA zone `name`."""
    try:
        days.zone(name)
    except ValueError:
        return False
    return True


class ZoneFallback:
    """Resolve zone names read from outside; thread-safe. One per reader (the core, the Slack users
    cache, the channel schedules), so each warns once about each (owner, zone)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._warned: set[tuple[str, str]] = set()

    def resolve(self, name: str, *, owner: str, fallback: str | None, instead: str) -> str | None:
        """`name` when the tz database has it, else `fallback` (`instead` says what that means in
        the warning, e.g. "TUTOR_TZ (UTC)" or "their stored zone")."""
        if is_known_zone(name):
            return name
        with self._lock:
            first = (owner, name) not in self._warned
            self._warned.add((owner, name))
        if first:
            log.warning("time zone %r of %s is not in this server's tz database (update the tzdata "
                        "package); using %s instead", name, owner, instead)
        return fallback
