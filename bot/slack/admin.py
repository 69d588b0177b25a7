"""Who a Slack user is: name, time zone, deactivated or not, and whether they may run admin
commands (Slack workspace admins and owners, plus the ids in TUTOR_ADMINS).

users.info answers are cached for a few minutes (Slack rate-limits it) for names and time zones,
but admin rights are judged on a fresh answer for an admin command and on one at most ADMIN_TTL_S
old for what only shows admin information (the Home tab's panel): a demoted or deactivated admin
loses them at once, not minutes later. The whole directory (users.list, 1000 members a page) is
cached longer and serves the daily delivery, which must skip deactivated members: Slack still
accepts a post to their old DM.

A profile's zone this server's tz database lacks (Slack's is newer) is read as no zone, with a
warning once per member and zone: the member keeps their stored zone (or gets TUTOR_TZ).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.slack.client import describe_failure
from bot.zones import ZoneFallback

log = logging.getLogger(__name__)

USER_TTL_S = 300.0
ADMIN_TTL_S = 5.0  # users.info is Tier 4 (100+ a minute): cheap enough to ask this often
DIRECTORY_TTL_S = 3600.0


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str | None
    tz: str | None  # IANA zone; None for deactivated accounts (Slack drops it) and unknown zones
    is_admin: bool
    is_owner: bool
    deleted: bool
    is_bot: bool

    @classmethod
    def from_api(cls, data: dict) -> SlackUser:
        profile = data.get("profile") or {}
        name = profile.get("display_name") or data.get("real_name") or data.get("name")
        return cls(id=data["id"], name=name or None, tz=data.get("tz") or None,
                   is_admin=bool(data.get("is_admin")), is_owner=bool(data.get("is_owner")),
                   deleted=bool(data.get("deleted")), is_bot=bool(data.get("is_bot")))


class SlackUsers:
    """A small cache over users.info / users.list. Thread-safe."""

    def __init__(self, settings: Settings, *, ttl_s: float = USER_TTL_S,
                 directory_ttl_s: float = DIRECTORY_TTL_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._admins = settings.admins
        self._ttl, self._directory_ttl, self._monotonic = ttl_s, directory_ttl_s, monotonic
        self._lock = threading.Lock()
        self._users: dict[str, tuple[float, SlackUser | None]] = {}
        self._directory: tuple[float, dict[str, SlackUser]] | None = None
        self._zones = ZoneFallback()

    def _user(self, data: dict[str, Any]) -> SlackUser:
        user = SlackUser.from_api(data)
        if user.tz and self._zones.resolve(user.tz, owner=user.id, fallback=None,
                                           instead="their stored zone (or TUTOR_TZ)") is None:
            user = replace(user, tz=None)
        return user

    def info(self, client: WebClient, user_id: str, *, max_age_s: float | None = None) -> SlackUser | None:
        """The user, or None when Slack does not know them (or could not be asked); from the cache
        when its answer is younger than `max_age_s` (default: the cache's TTL)."""
        now = self._monotonic()
        with self._lock:
            cached = self._users.get(user_id)
        if cached is not None and now - cached[0] < (self._ttl if max_age_s is None else max_age_s):
            return cached[1]
        try:
            user: SlackUser | None = self._user(client.users_info(user=user_id)["user"])
        except SlackApiError as exc:
            log.warning("users.info %s failed: %s", user_id, exc.response.get("error"))
            user = None
        with self._lock:
            self._users[user_id] = (now, user)
        return user

    def is_admin(self, client: WebClient, user_id: str, *, fresh: bool = False) -> bool:
        """TUTOR_ADMINS first (no API call), then Slack's own admin / owner flags, asked of Slack
        now when `fresh` (before an admin command runs), else at most ADMIN_TTL_S ago."""
        if user_id in self._admins:
            return True
        user = self.info(client, user_id, max_age_s=0.0 if fresh else ADMIN_TTL_S)
        return bool(user and not user.deleted and (user.is_admin or user.is_owner))

    def directory(self, client: WebClient) -> dict[str, SlackUser]:
        """Every member of the workspace by id (users.list, paged), cached for an hour. When Slack
        cannot be asked (an API error, a timeout, a dropped connection) the last known directory (or
        an empty one) is returned: delivery then goes ahead. A malformed entry is skipped."""
        now = self._monotonic()
        with self._lock:
            if self._directory is not None and now - self._directory[0] < self._directory_ttl:
                return self._directory[1]
        found: dict[str, SlackUser] = {}
        try:
            for page in client.users_list(limit=1000):
                for data in page.get("members", []):
                    try:
                        user = self._user(data)
                    except (KeyError, TypeError, AttributeError):
                        log.warning("users.list: skipped a malformed member entry %.200r", data)
                        continue
                    found[user.id] = user
        except Exception as exc:  # any failure: every member's DM must still go out
            log.warning("users.list failed: %s; using the last known directory", describe_failure(exc))
            with self._lock:
                return self._directory[1] if self._directory else {}
        with self._lock:
            self._directory = (now, found)
            for user in found.values():
                self._users[user.id] = (now, user)
        return found
