"""Pacing of bulk sends, and coalescing of message refreshes.

`Pacer` is a token bucket: `acquire()` blocks until the next send is allowed, so a delivery of
10,000 DMs goes out at a steady rate (default 20 a second, TUTOR_DM_RATE) instead of a burst Slack
answers with 429s. A rate of 0 means no pacing (tests, benchmarks).

`Coalescer` runs a refresh for a key (e.g. a question-of-the-day post's tally) at most once at a
time; requests that arrive while it runs make it run once more afterwards. The refresh reads the
truth (the stored answers) when it runs, so the last run always shows the final count, and a hundred
clicks at once cost a handful of chat.update calls instead of a hundred racing ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class Pacer:
    """A thread-safe token bucket: `rate_per_s` tokens a second, at most `burst` saved up."""

    def __init__(self, rate_per_s: float, *, burst: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate_per_s < 0:
            raise ValueError("rate_per_s must be >= 0 (0 = unlimited)")
        self.rate = rate_per_s
        self.burst = burst if burst is not None else max(1.0, rate_per_s)
        self._monotonic, self._sleep = monotonic, sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = monotonic()

    def acquire(self) -> float:
        """Take one token, waiting for it if need be; returns the seconds waited."""
        if self.rate == 0:
            return 0.0
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


class Coalescer:
    """Run `refresh()` for a key once at a time; calls during a run cause exactly one more run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[Hashable, bool] = {}  # key -> True when another run was asked for

    def request(self, key: Hashable, refresh: Callable[[], None]) -> bool:
        """Returns True when this call ran the refresh (False: the running caller will)."""
        with self._lock:
            if key in self._state:
                self._state[key] = True
                return False
            self._state[key] = False
        while True:
            try:
                refresh()
            except Exception:  # one failed refresh must not leave the key stuck as running
                log.exception("refresh of %r failed", key)
            with self._lock:
                if self._state.get(key):
                    self._state[key] = False
                    continue
                del self._state[key]
                return True
