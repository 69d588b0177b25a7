"""The checks made before the bot serves (and by `tutor doctor`): is the bot token accepted, which
OAuth scopes did the workspace grant it, is the app-level token good for Socket Mode.

Slack answers every Web API call with the token's granted scopes in the `x-oauth-scopes` response
header (comma-separated), so `auth.test` tells both who the bot is and what it may do. The scopes
the features need are listed once, in `SCOPES`, with what each is for; manifest.yml asks for the
same ones (a test holds them together).

Every failure is a `ServiceError` whose message is one sentence naming the problem and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.config import ServiceError

# scope -> what the tutor uses it for (the order of manifest.yml)
SCOPES: dict[str, str] = {
    "chat:write": "sending the daily DMs, questions of the day and every reply",
    "commands": "the /tutor and /finetune commands",
    "im:write": "opening the DM with a member (conversations.open)",
    "im:history": "reading the deck file an admin shares in the DM for /tutor import",
    "users:read": "members' time zones, admin flags and deactivated accounts",
    "channels:read": "checking a scheduled or assigned public channel and listing its members",
    "channels:join": "joining a public channel a schedule or an assignment names",
    "channels:history": "the images posted in public channels, for /finetune",
    "groups:read": "checking a scheduled or assigned private channel and listing its members",
    "groups:history": "the images posted in private channels, for /finetune",
    "files:read": "downloading shared decks (/tutor import) and images (/finetune)",
    "files:write": "uploading the /finetune chart",
}

REINSTALL = ("add it under OAuth & Permissions → Scopes (or paste manifest.yml again) and reinstall the "
             "app to the workspace")


@dataclass(frozen=True)
class BotIdentity:
    """What auth.test says about the bot token."""

    team: str
    user_id: str
    bot_id: str | None
    scopes: frozenset[str] | None  # None when Slack sent no x-oauth-scopes header

    def missing_scopes(self) -> list[str]:
        """The scopes of SCOPES not granted ([] when the grant is unknown)."""
        if self.scopes is None:
            return []
        return [scope for scope in SCOPES if scope not in self.scopes]


def describe_missing(scope: str) -> str:
    return f"the bot token lacks the {scope} scope, needed for {SCOPES[scope]}: {REINSTALL}"


def _error_name(exc: SlackApiError) -> str:
    data: Any = exc.response.data
    return str(data.get("error")) if isinstance(data, dict) and data.get("error") else "a non-JSON answer"


def _unreachable(api_url: str, exc: BaseException) -> ServiceError:
    reason = getattr(exc, "reason", None) or exc
    return ServiceError(f"cannot reach Slack at {api_url} ({reason}); check the network connection, a proxy "
                        "(HTTPS_PROXY) or SLACK_API_URL")


def check_bot_token(client: WebClient, api_url: str) -> BotIdentity:
    """auth.test with the bot token; ServiceError when Slack refuses it or cannot be reached."""
    try:
        response = client.auth_test()
    except SlackApiError as exc:
        error = _error_name(exc)
        if error in ("invalid_auth", "not_authed"):
            raise ServiceError(f"Slack refused SLACK_BOT_TOKEN ({error}); copy the Bot User OAuth Token "
                               "(xoxb-…) from your app's OAuth & Permissions page again") from None
        if error in ("token_revoked", "account_inactive", "token_expired"):
            raise ServiceError(f"SLACK_BOT_TOKEN no longer works ({error}); reinstall the app to the "
                               "workspace (OAuth & Permissions → Reinstall) and use its new Bot User OAuth "
                               "Token") from None
        raise ServiceError(f"Slack answered auth.test with {error}; check SLACK_BOT_TOKEN and "
                           "SLACK_API_URL") from None
    except (OSError, SlackClientError) as exc:  # URLError, timeouts, refused connections
        raise _unreachable(api_url, exc) from None
    header = response.headers.get("x-oauth-scopes") if response.headers else None
    scopes = None if header is None else frozenset(s.strip() for s in header.split(",") if s.strip())
    return BotIdentity(team=str(response.get("team") or ""), user_id=str(response.get("user_id") or ""),
                       bot_id=response.get("bot_id"), scopes=scopes)


def app_token_problem(exc: BaseException, api_url: str) -> ServiceError:
    """The sentence for a failure to open a Socket Mode connection with SLACK_APP_TOKEN."""
    if isinstance(exc, SlackApiError):
        error = _error_name(exc)
        if error in ("invalid_auth", "not_authed", "token_revoked", "not_allowed_token_type"):
            return ServiceError(f"Slack refused SLACK_APP_TOKEN ({error}); make an app-level token with "
                                "the connections:write scope under Basic Information → App-Level Tokens "
                                "(xapp-…)")
        if error == "missing_scope":
            return ServiceError("SLACK_APP_TOKEN lacks the connections:write scope; add it to the "
                                "app-level token under Basic Information → App-Level Tokens")
        return ServiceError(f"Slack answered apps.connections.open with {error}; check that Socket Mode "
                            "is on for the app (Settings → Socket Mode) and SLACK_APP_TOKEN is its token")
    if isinstance(exc, (OSError, SlackClientError)):
        return _unreachable(api_url, exc)
    return ServiceError(f"the Socket Mode connection to Slack failed ({exc}); try again, or run "
                        "`tutor serve --http` behind a public URL")


def check_app_token(client: WebClient, app_token: str, api_url: str) -> None:
    """apps.connections.open with the app-level token (it only issues a URL, which expires unused)."""
    try:
        client.apps_connections_open(app_token=app_token)
    except Exception as exc:  # every failure becomes its sentence
        raise app_token_problem(exc, api_url) from None
