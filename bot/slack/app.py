"""Build the Bolt app (as Slack's bolt-python starter template does): one App, listeners registered
by concern from `bot.slack.listeners`. Building an app starts nothing: no scheduler, no server (see
serve.py), so tests and a second web worker can build as many as they like."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient

from bot.concepts.grading import WorkerGrader
from bot.slack.client import make_client
from bot.slack.context import AppContext
from bot.slack.lifecycle import TrackedExecutor
from bot.slack.listeners import register_all
from bot.slack.services import SlackServices
from bot.worker.client import make_worker_client

log = logging.getLogger(__name__)

LISTENER_THREADS = 32


class _DropTokenUnusedWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when given a client, then warns on every
    start that the token is unused; the client it is given carries that same token."""

    _text = warning_client_prioritized_and_token_skipped()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self._text


_BOLT_LOGGER = logging.getLogger("tutor.slack")
_BOLT_LOGGER.addFilter(_DropTokenUnusedWarning())


def build_app(ctx: AppContext, *, client: WebClient | None = None,
              services: SlackServices | None = None) -> App:
    """The tutor's Bolt app over `ctx`. `client` defaults to one with the bot token, SLACK_API_URL
    and retries on 429; Bolt checks the token with auth.test once, here."""
    settings = ctx.settings
    client = client or make_client(settings)
    if ctx.worker is None:  # one worker per context, shared by every listener that runs jobs
        ctx.worker = make_worker_client(settings)
    # Answers to open prompts are graded by the worker's sentence model, never in this process.
    ctx.tutor.grader = WorkerGrader(ctx.worker)
    executor = TrackedExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="tutor-listener")
    app = App(
        name="tutor",
        client=client,
        signing_secret=settings.slack_signing_secret or "",  # unused in Socket Mode
        process_before_response=False,  # ack() is sent at once; listeners go on in Bolt's thread pool
        logger=_BOLT_LOGGER,
        # Bolt calls ack() on this pool too: enough threads that slow listeners never delay an ack.
        # Tracked, so a stopping server waits for the work in progress (bot/slack/lifecycle.py).
        listener_executor=executor,
    )
    svc = register_all(app, ctx, services=services)
    app.tutor_services = svc  # type: ignore[attr-defined]
    app.tutor_executor = executor  # type: ignore[attr-defined]
    return app


def executor_of(app: App) -> TrackedExecutor:
    """The pool the app's listeners run on (a stopping server waits for it)."""
    executor = getattr(app, "tutor_executor", None)
    if not isinstance(executor, TrackedExecutor):
        raise TypeError("this App was not built by bot.slack.app.build_app")
    return executor


def services_of(app: App) -> SlackServices:
    """The services the app's listeners share (the scheduler must use the same ones)."""
    svc = getattr(app, "tutor_services", None)
    if not isinstance(svc, SlackServices):
        raise TypeError("this App was not built by bot.slack.app.build_app")
    return svc
