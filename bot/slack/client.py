"""The Web API client every part of the bot uses: one base URL (SLACK_API_URL), retries on 429, and
what a failed call means.

slack_sdk retries only connection errors by default; Slack answers a burst with HTTP 429 and a
`Retry-After` header (seconds), which `RateLimitErrorRetryHandler` waits out and retries.

A dropped connection is retried too, except for chat.postMessage when the request may have reached
Slack (reset, closed before the answer): posting it again could post twice, since Slack has no
idempotency key. Such a post fails instead; a post for a claimed row is then reconciled from Slack's
history by its metadata (bot.slack.marks). A refused connection never reached Slack and is retried.
"""

from __future__ import annotations

import logging
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.config import Settings

RATE_LIMIT_RETRIES = 5  # each waits Retry-After seconds
CONNECTION_RETRIES = 2
TIMEOUT_S = 30
NOT_RETRIED_ONCE_SENT = ("/chat.postMessage",)  # a repeat would be a second message

# Slack's errors after which the call may still have taken effect ("It's possible some aspect of the
# operation succeeded", Slack's docs say of fatal_error and internal_error), or that say "later":
# a send that ends with one of these is not final, and is reconciled from Slack's history.
UNSURE_ERRORS = frozenset({"fatal_error", "internal_error", "request_timeout", "service_unavailable",
                           "ratelimited"})


def describe_failure(exc: BaseException) -> str:
    """Slack's error name for an API error, else the exception's type and message (for logs and rows)."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc)
    return f"{type(exc).__name__}: {exc}"[:500]


def refused_by_slack(exc: BaseException) -> str | None:
    """Slack's error when it answered and refused the call (nothing was done: final); None when the
    outcome is unknown or worth trying again (a timeout, a dropped connection, `fatal_error`)."""
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error") or "")
        return None if error in UNSURE_ERRORS or not error else error
    return None


def _never_reached_slack(error: Exception | None) -> bool:
    reason = error.reason if isinstance(error, URLError) else error
    return isinstance(reason, ConnectionRefusedError)


class ConnectionRetryOnceSafe(ConnectionErrorRetryHandler):
    """slack_sdk's connection-error retries, minus those that could post a message twice."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        posting = request.url.split("?", 1)[0].endswith(NOT_RETRIED_ONCE_SENT)
        if posting and not _never_reached_slack(error):
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)

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
            ConnectionRetryOnceSafe(max_retry_count=CONNECTION_RETRIES),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )
