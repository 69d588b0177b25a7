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


class ServiceError(RuntimeError):
    """Something the bot needs outside itself (Slack) refused or could not be reached; the message is
    one sentence naming the problem and the fix."""


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
    # /finetune: each arm's training budget and the hard time limit of one demo (seconds), and the
    # device (None: cuda when there is one, else cpu).
    finetune_budget_s: float = 10.0
    finetune_time_limit_s: float = 300.0
    finetune_device: str | None = None
    # The job engine: with a Redis URL, jobs go through Celery to `tutor worker` processes (on
    # other hosts, say); None: the bot runs its own warm worker process, started with the bot
    # (worker_prewarm, TUTOR_WORKER_PREWARM) or else at the first job.
    broker_url: str | None = None
    worker_prewarm: bool = True
    # Daily DMs: at most this many chat.postMessage calls a second across all members (TUTOR_DM_RATE;
    # 0 = no pacing). Slack's own limit is about 1 message a second per channel, with bursts allowed.
    dm_rate_per_s: float = 20.0
    # Import or update the decks shipped in content/decks/ at start (TUTOR_SHIPPED_DECKS=0: don't).
    shipped_decks: bool = True
    # The log level of `tutor serve` (TUTOR_LOG_LEVEL): DEBUG, INFO, WARNING or ERROR.
    log_level: str = "INFO"

    def require_slack(self, *, socket_mode: bool) -> None:
        """Raise ConfigError naming each Slack variable the chosen mode needs but lacks."""
        missing = []
        if not self.slack_bot_token:
            missing.append("SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-…)")
        if socket_mode and not self.slack_app_token:
            missing.append("SLACK_APP_TOKEN (an app-level token with connections:write, xapp-…, for "
                           "Socket Mode; or run `tutor serve --http` with SLACK_SIGNING_SECRET)")
        if not socket_mode and not self.slack_signing_secret:
            missing.append("SLACK_SIGNING_SECRET (Basic Information → App Credentials)")
        if missing:
            raise ConfigError("missing environment variable(s): " + "; ".join(missing))


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SWITCH = {"": True, "1": True, "yes": True, "true": True, "on": True,
           "0": False, "no": False, "false": False, "off": False}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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

    def seconds(name: str, default: float) -> float:
        raw = env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 < value < 86_400:
            raise ConfigError(f"{name}={raw!r} must be a number of seconds, such as 10")
        return value

    device = env.get("TUTOR_FINETUNE_DEVICE", "").strip().lower() or None
    if device is not None and device not in ("cpu", "cuda") and not re.match(r"^cuda:[0-9]{1,3}$", device):
        raise ConfigError(f"TUTOR_FINETUNE_DEVICE={device!r} must be cpu, cuda or cuda:N")

    broker_url = env.get("TUTOR_BROKER_URL", "").strip() or None
    if broker_url is not None and not re.match(r"^rediss?://", broker_url):
        raise ConfigError(f"TUTOR_BROKER_URL={broker_url!r} must be a Redis URL such as "
                          "redis://localhost:6379/0 (Celery uses Redis as broker and result backend)")

    prewarm_raw = env.get("TUTOR_WORKER_PREWARM", "").strip().lower()
    if prewarm_raw not in ("", "1", "true", "yes", "0", "false", "no"):
        raise ConfigError(f"TUTOR_WORKER_PREWARM={prewarm_raw!r} must be 1 or 0 (true or false)")

    dm_rate_raw = env.get("TUTOR_DM_RATE", "").strip()
    try:
        dm_rate = float(dm_rate_raw) if dm_rate_raw else 20.0
    except ValueError:
        dm_rate = -1.0
    if not 0 <= dm_rate <= 1000:
        raise ConfigError(f"TUTOR_DM_RATE={dm_rate_raw!r} must be messages a second (0-1000; 0 = no pacing)")

    shipped_raw = env.get("TUTOR_SHIPPED_DECKS", "").strip().casefold()
    if shipped_raw not in _SWITCH:
        raise ConfigError(f"TUTOR_SHIPPED_DECKS={shipped_raw!r} must be 1 or 0 (yes/no, true/false)")

    log_level = env.get("TUTOR_LOG_LEVEL", "").strip().upper() or "INFO"
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"TUTOR_LOG_LEVEL={log_level!r} must be one of {', '.join(LOG_LEVELS)}")

    return Settings(
        db_path=db_path,
        admins=frozenset(admins),
        timezone=tz,
        slack_bot_token=token("SLACK_BOT_TOKEN", "xoxb-"),
        slack_app_token=token("SLACK_APP_TOKEN", "xapp-"),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip() or None,
        slack_api_url=api_url,
        finetune_budget_s=seconds("TUTOR_FINETUNE_BUDGET", 10.0),
        finetune_time_limit_s=seconds("TUTOR_FINETUNE_TIME_LIMIT", 300.0),
        finetune_device=device,
        broker_url=broker_url,
        worker_prewarm=prewarm_raw not in ("0", "false", "no"),
        dm_rate_per_s=dm_rate,
        shipped_decks=_SWITCH[shipped_raw],
        log_level=log_level,
    )
