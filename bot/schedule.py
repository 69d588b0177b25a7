"""Timed work, with APScheduler 3.x: a tick at the start of every minute (and once right at start-up,
which makes up what was missed while the bot was down), and every FIT_EVERY the memory-model fits
that are due (bot.memory_models.run_due_fits: weekly, or after a few hundred new reviews). APScheduler
runs each job on its own pool thread, so a fit never delays a tick, and the fits use their own
database connection, so they hold no lock a request waits on.

The rows in SQLite are the truth: each tick reads the learners (delivery time, zone) and the channel
schedules and does whatever is due, so a schedule added by a command is picked up at the next tick
and nothing has to be rebuilt or kept in step. Each send is claimed in SQLite first, so a tick that
runs twice, or a second process by mistake, sends nothing twice; and each tick first settles the
sends a killed process left unfinished, from Slack's history (see delivery.py, qotd.py, marks.py).

Start exactly one scheduler per deployment: `tutor serve` starts it in the web process (waitress is
one process with threads). Never start it in `build_app`, or each web worker would run its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient

from bot.memory_models import FitReport, run_due_fits
from bot.slack.assignments import NoticeReport, send_notices
from bot.slack.context import AppContext
from bot.slack.delivery import DeliveryReport, run_due_deliveries
from bot.slack.qotd import ChannelReport, run_channel_posts
from bot.slack.services import SlackServices
from storage.db import ThreadLocalDatabases

log = logging.getLogger(__name__)

JOB_ID = "tutor-tick"
FIT_JOB_ID = "tutor-memory-models"
FIT_EVERY_MINUTES = 15


@dataclass(frozen=True)
class TickReport:
    now: datetime
    channels: ChannelReport
    deliveries: DeliveryReport
    notices: NoticeReport


def tick(ctx: AppContext | SlackServices, client: WebClient, now: datetime | None = None) -> TickReport:
    """Everything due at `now` (default: the context's clock): close and post questions of the day,
    send the daily DMs, then any enrollment DM an assignment left queued (a restart in between).
    A plain function: tests call it with a simulated `now`."""
    svc = SlackServices.of(ctx)
    now = svc.now() if now is None else now
    channels = run_channel_posts(svc, client, now)
    deliveries = run_due_deliveries(svc, client, now)
    notices = send_notices(svc, client, now)
    recovered, pending = channels.recovered + deliveries.recovered, channels.pending + deliveries.pending
    if channels.posted or channels.closed or deliveries.sent or deliveries.failed or recovered or pending:
        log.info("tick %s: %d posted, %d closed, %d DMs sent, %d failed; %d unfinished sends found in Slack,"
                 " %d unconfirmed", now.isoformat(timespec="minutes"), channels.posted, channels.closed,
                 deliveries.sent, deliveries.failed, recovered, pending)
    if notices.sent or notices.failed or notices.recovered or notices.pending:
        log.info("tick %s: %d enrollment DMs sent, %d failed, %d found in Slack, %d unconfirmed",
                 now.isoformat(timespec="minutes"), notices.sent, notices.failed, notices.recovered,
                 notices.pending)
    return TickReport(now=now, channels=channels, deliveries=deliveries, notices=notices)


def _safe_tick(svc: SlackServices, client: WebClient) -> None:
    try:
        tick(svc, client)
    except Exception:  # keep the scheduler alive; the next tick tries again
        log.exception("scheduled tick failed")


def fit_memory_models(svc: SlackServices, databases: ThreadLocalDatabases) -> list[FitReport]:
    """The memory-model fits due now, on this thread's own connection (an in-memory database, which
    cannot be opened twice, is used under the tutor's lock instead). Each member and deck is fitted
    on its own: one failure is recorded and the others go on (run_due_fits)."""
    if databases.path is None:
        with svc.ctx.tutor.lock:
            return run_due_fits(databases.shared, svc.now())
    return run_due_fits(databases.get(), svc.now())


def _safe_fits(svc: SlackServices, databases: ThreadLocalDatabases) -> None:
    try:
        fit_memory_models(svc, databases)
    except Exception:  # e.g. the database was locked past its timeout: the next run tries again
        log.exception("memory-model fits failed")


def build_scheduler(svc: SlackServices, client: WebClient) -> BackgroundScheduler:
    """A scheduler (not started) with the minute tick, whose first run is immediate (catch-up), and
    the memory-model fits every FIT_EVERY_MINUTES."""
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(_safe_tick, CronTrigger(second=0, timezone=UTC), args=(svc, client), id=JOB_ID,
                      max_instances=1, coalesce=True, misfire_grace_time=50,
                      next_run_time=datetime.now(UTC), replace_existing=True)
    scheduler.add_job(_safe_fits, IntervalTrigger(minutes=FIT_EVERY_MINUTES, timezone=UTC),
                      args=(svc, ThreadLocalDatabases(svc.ctx.db)), id=FIT_JOB_ID, max_instances=1,
                      coalesce=True, replace_existing=True)
    return scheduler


def start_scheduler(svc: SlackServices, client: WebClient) -> BackgroundScheduler:
    scheduler = build_scheduler(svc, client)
    scheduler.start()
    log.info("scheduler started: a tick every minute")
    return scheduler
