"""`tutor serve`: Socket Mode (SLACK_APP_TOKEN; no public URL) or `--http` behind waitress, the
production WSGI server, at /slack/events. The scheduler starts here, once per deployment: waitress
is one process with threads, so `web: tutor serve --http` in a Procfile runs one scheduler.

Before serving, the bot token is checked with auth.test (a refused token or an unreachable Slack is
one sentence, not a traceback) and the granted scopes against the features' (bot/slack/preflight.py);
the shipped decks are imported or updated. SIGTERM or Ctrl-C stops it cleanly (bot/slack/lifecycle.py).

`start_http` serves the same WSGI app on a port (0: a free one) in a thread; the end-to-end tests
use it, so they go through the very server and routes production uses. Both refuse a body over
http_guard.MAX_BODY_BYTES in waitress itself, and put http_guard.RequestGuard (size, signature,
parse, workspace and replay checks) in front of Bolt.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlite_utils
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.config import ConfigError, ServiceError, Settings
from bot.numbers import whole_number
from bot.shipped import sync_shipped_decks
from bot.slack.app import build_app, executor_of, services_of
from bot.slack.client import make_client
from bot.slack.context import AppContext
from bot.slack.http_guard import RequestGuard
from bot.slack.http_server import HTTP_THREADS, HttpServer, WsgiApp
from bot.slack.lifecycle import SHUTDOWN_GRACE_S, Deadline, StopSignal, exit_now, run_bounded
from bot.slack.preflight import app_token_problem, check_app_token, check_bot_token, describe_missing
from bot.slack.services import SlackServices
from bot.tutor import Tutor
from storage.db import close_open_databases, open_db
from storage.seen_requests import SeenRequests

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
DEFAULT_PORT = 3000


def make_wsgi_app(app: App) -> WsgiApp:
    """Slack's requests at POST /slack/events, behind the RequestGuard; GET /healthz answers "ok" for
    load balancers. Asks Slack (auth.test) which workspace this bot is installed in."""
    svc = services_of(app)
    team_id = str(app.client.auth_test()["team_id"])
    slack = RequestGuard(SlackRequestHandler(app, path=EVENTS_PATH),
                         signing_secret=svc.ctx.settings.slack_signing_secret or "", team_id=team_id,
                         seen=SeenRequests(svc.ctx.db))

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return slack(environ, start_response)

    return wsgi


@dataclass
class Runtime:
    """Everything a running bot holds."""

    ctx: AppContext
    client: WebClient
    app: App
    services: SlackServices


def build_runtime(settings: Settings, *, client: WebClient | None = None,
                  db: sqlite_utils.Database | None = None) -> Runtime:
    from bot.worker.client import make_worker_client

    db = db or open_db(settings.db_path)
    ctx = AppContext(settings=settings, db=db, tutor=Tutor(db, default_tz=settings.timezone),
                     worker=make_worker_client(settings))
    if settings.shipped_decks:
        sync_shipped_decks(ctx.tutor)
    client = client or make_client(settings)
    app = build_app(ctx, client=client)
    return Runtime(ctx=ctx, client=client, app=app, services=services_of(app))


def start_http(app: App, *, host: str = "127.0.0.1", port: int = 0,
               threads: int = HTTP_THREADS) -> HttpServer:
    """Serve `app` over HTTP in a background thread (port 0: a free port); call .close() to stop."""
    return HttpServer(make_wsgi_app(app), host=host, port=port, threads=threads).start()


def http_port(port: int | None) -> int:
    """`--port`, else $PORT, else 3000; ConfigError for anything that is not a TCP port."""
    if port is not None:
        if not 0 < port < 65536:
            raise ConfigError(f"--port {port} must be a TCP port number (1-65535)")
        return port
    raw = os.environ.get("PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    port = whole_number(raw, low=1, high=65535)
    if port is None:
        raise ConfigError(f"PORT={raw!r} must be a TCP port number")
    return port


def configure_logging(level: str) -> None:
    """TUTOR_LOG_LEVEL for the bot's own lines; APScheduler's two INFO lines a minute only at DEBUG."""
    if not logging.getLogger().handlers:  # the operator's own logging config wins
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    else:
        logging.getLogger().setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


def serve(settings: Settings, *, http: bool, host: str = "0.0.0.0", port: int | None = None) -> int:
    """Run the bot until SIGTERM or Ctrl-C: the scheduler plus Socket Mode or the HTTP server.
    Returns the exit status (0 after a clean stop); ConfigError / ServiceError before serving."""
    from bot.schedule import start_scheduler

    configure_logging(settings.log_level)
    settings.require_slack(socket_mode=not http)
    listen = http_port(port) if http else 0
    db = open_db(settings.db_path)  # a database that cannot be opened is said before Slack is asked
    quiet = make_client(settings, quiet=True)
    identity = check_bot_token(quiet, settings.slack_api_url)
    if not http:
        check_app_token(quiet, settings.slack_app_token or "", settings.slack_api_url)
    log.info("bot token accepted: %s in %s", identity.user_id, identity.team)
    for scope in identity.missing_scopes():
        log.warning("%s", describe_missing(scope))
    runtime = build_runtime(settings, db=db)
    stop = StopSignal().install()
    front: HttpServer | SocketFront
    if http:
        try:  # bound before the worker starts: a port in use stops the bot with nothing to undo
            front = HttpServer(make_wsgi_app(runtime.app), host=host, port=listen, threads=HTTP_THREADS)
        except OSError as exc:  # the port is taken, or the host is not an address of this machine
            raise ServiceError(f"cannot listen on {host}:{listen} ({exc.strerror or exc}); stop what uses "
                               "the port or choose another with --port / PORT (and --host)") from None
    else:
        front = SocketFront(runtime.app, settings)
    worker = runtime.ctx.worker
    if worker is not None and settings.worker_prewarm:
        worker.start()  # warm before the first /finetune: torch and the models load meanwhile
    front.start()
    if isinstance(front, HttpServer):
        log.info("serving Slack requests on http://%s:%d%s", host, front.port, EVENTS_PATH)
    scheduler = start_scheduler(runtime.services, runtime.client)
    reason = stop.wait()
    log.info("%s: stopping; new requests are refused, work in progress has %.0f s", reason, SHUTDOWN_GRACE_S)
    deadline = Deadline(SHUTDOWN_GRACE_S)
    scheduler.pause()  # no new tick; one that is running goes on
    finished = run_bounded("the server", front.close, deadline)
    executor = executor_of(runtime.app)
    if not executor.wait_idle(deadline.left()):
        log.warning("gave up waiting for %d listener task(s): the grace period is over", executor.pending)
        finished = False
    finished = run_bounded("the scheduler", lambda: scheduler.shutdown(wait=True), deadline) and finished
    flow = getattr(runtime.app, "finetune_flow", None)
    if flow is not None:
        flow.shutdown(wait=False)  # queued demos are dropped
    if worker is not None:  # the local worker's process stops; a job it ran ends as failed
        finished = run_bounded("the worker", worker.close, deadline) and finished
    if not finished:
        # Abandoned threads may still be inside a query: closing a connection under them can crash
        # SQLite, and they would hold a normal exit. Leave at once; WAL keeps every commit.
        log.info("stopped")
        exit_now(0)
    close_open_databases()
    log.info("stopped")
    return 0


class SocketFront:
    """Socket Mode: one WebSocket to Slack (SLACK_APP_TOKEN), reopened when Slack asks to refresh."""

    def __init__(self, app: App, settings: Settings) -> None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        self._handler = SocketModeHandler(app, settings.slack_app_token)
        self._api_url = settings.slack_api_url

    def start(self) -> None:
        log.info("connecting to Slack in Socket Mode")
        try:
            self._handler.connect()
        except Exception as exc:  # a refused app token, Slack unreachable: one sentence
            raise app_token_problem(exc, self._api_url) from None
        log.info("connected to Slack in Socket Mode")

    def close(self) -> None:
        """Close the connection (Slack then sends nothing more); requests being acknowledged finish."""
        self._handler.close()
