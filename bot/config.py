"""Every setting, read from the environment once, into one frozen object.

A missing or malformed variable raises `ConfigError` naming it, so `tutor serve` fails with a
sentence an admin can act on instead of a traceback from deep inside slack_bolt.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable and what is expected."""


@dataclass(frozen=True)
class Settings:
    """The bot's settings. Times are local to `timezone` unless a member's own zone is known."""

    db_path: str = "tutor.db"
    admins: frozenset[str] = frozenset()  # Slack user ids (U…) who may run admin commands
    timezone: str = "UTC"  # IANA name; the default zone for members and schedules
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL

    def require_slack(self, *, socket_mode: bool) -> None:
        """Raise ConfigError naming each Slack variable the chosen mode needs but lacks."""
        missing = []
        if not self.slack_bot_token:
            missing.append("SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-…)")
        if socket_mode and not self.slack_app_token:
            missing.append("SLACK_APP_TOKEN (an app-level token with connections:write, xapp-…)")
        if not socket_mode and not self.slack_signing_secret:
            missing.append("SLACK_SIGNING_SECRET (Basic Information → App Credentials)")
        if missing:
            raise ConfigError("missing environment variable(s): " + "; ".join(missing))


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from `environ` (default: os.environ)."""
    env = os.environ if environ is None else environ

    db_path = env.get("TUTOR_DB", "").strip() or "tutor.db"

    tz = env.get("TUTOR_TZ", "").strip() or "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"TUTOR_TZ={tz!r} is not an IANA time zone; use a name such as Europe/Berlin or UTC"
        ) from None

    admins: set[str] = set()
    for raw in re.split(r"[,\s]+", env.get("TUTOR_ADMINS", "")):
        if not raw:
            continue
        if not _USER_ID.match(raw):
            raise ConfigError(
                f"TUTOR_ADMINS has {raw!r}, which is not a Slack user id; "
                "list ids such as U012AB3CD separated by commas"
            )
        admins.add(raw)

    api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
    if not re.match(r"^https?://", api_url):
        raise ConfigError(f"SLACK_API_URL={api_url!r} must start with http:// or https://")
    if not api_url.endswith("/"):
        api_url += "/"  # slack_sdk joins method names onto base_url as-is

    def token(name: str, prefix: str) -> str | None:
        value = env.get(name, "").strip() or None
        if value is not None and not value.startswith(prefix):
            raise ConfigError(f"{name} should start with {prefix!r}; check you pasted the right token")
        return value

    return Settings(
        db_path=db_path,
        admins=frozenset(admins),
        timezone=tz,
        slack_bot_token=token("SLACK_BOT_TOKEN", "xoxb-"),
        slack_app_token=token("SLACK_APP_TOKEN", "xapp-"),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip() or None,
        slack_api_url=api_url,
    )
