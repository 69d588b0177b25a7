"""The Web API client every part of the bot uses: one base URL (SLACK_API_URL), retries on 429.

slack_sdk retries only connection errors by default; Slack answers a burst with HTTP 429 and a
`Retry-After` header (seconds), which `RateLimitErrorRetryHandler` waits out and retries.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.config import Settings

RATE_LIMIT_RETRIES = 5  # each waits Retry-After seconds
CONNECTION_RETRIES = 2
TIMEOUT_S = 30

# The checks made before serving report a failure as one sentence; slack_sdk's own lines about each
# retry of a refused connection would bury it.
_QUIET = logging.getLogger("tutor.slack.preflight")
_QUIET.setLevel(logging.CRITICAL)


def make_client(settings: Settings, *, token: str | None = None, quiet: bool = False) -> WebClient:
    """A WebClient with the bot token (or `token`), `settings.slack_api_url` as base URL and retry
    handlers for rate limits and dropped connections. `quiet`: slack_sdk logs nothing (preflight)."""
    return WebClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT_S,
        logger=_QUIET if quiet else logging.getLogger("tutor.slack.client"),
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )
