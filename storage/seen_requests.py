"""Signed Slack requests the app has already handled, so that a replay of one changes nothing.

Slack signs each request with its timestamp (X-Slack-Request-Timestamp) and the body; the signature
is accepted for 5 minutes either side of now. Within that window someone who captured a request
could send it again, byte for byte; its signature is then one already seen. Slack's own retries of
an event are signed anew (a new timestamp), so they are not replays and still arrive. Rows older
than KEEP_S can no longer be replayed (their signature has expired) and are deleted.
"""

from __future__ import annotations

import threading

import sqlite_utils

from storage.db import ThreadLocalDatabases

KEEP_S = 600  # twice the 300 s Slack's signature stays valid (clock skew either way)
PRUNE_EVERY_S = 60.0


class SeenRequests:
    """Thread-safe; every process on the same database sees the others' requests."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._dbs = ThreadLocalDatabases(db)
        self._lock = threading.Lock()
        self._pruned_at = float("-inf")

    def first_time(self, signature: str, request_ts: int, now_s: float) -> bool:
        """Record the request; False when a request with this signature was recorded before."""
        with self._lock:
            prune = now_s - self._pruned_at >= PRUNE_EVERY_S
            if prune:
                self._pruned_at = now_s
        with self._dbs.write() as conn:
            if prune:
                conn.execute("DELETE FROM slack_seen_requests WHERE request_ts < ?", (int(now_s) - KEEP_S,))
            cursor = conn.execute("INSERT OR IGNORE INTO slack_seen_requests (signature, request_ts) "
                                  "VALUES (?, ?)", (signature, request_ts))
            return cursor.rowcount == 1
