"""The daily DM: each member gets one message a learning day, at their delivery time in their own
zone, holding the cards the core says are due (one at a time, see review.py).

Exactly once: a delivery is claimed in SQLite first, with the UNIQUE key (member, learning day), and
only the process whose INSERT landed sends. So a restart, a second process started by mistake or a
tick that runs twice sends nothing twice. A delivery missed while the bot was down is made up at
the next tick as long as its learning day is still on (the core's rule: until 04:00 local). If the
process dies between the claim and the send, that day's DM is not sent (at most once: Slack has no
idempotency key for chat.postMessage, so sending again could send twice).

A failed send (member left, deactivated, DMs blocked) is recorded with its error and does not stop
the others. Sends are paced (`Pacer`, TUTOR_DM_RATE a second overall) and slack_sdk retries 429s.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import learning_day as days
from bot.slack.admin import SlackUser
from bot.slack.context import AppContext
from bot.slack.review import post_session
from bot.slack.services import SlackServices
from bot.tutor import DueItem, Learner

log = logging.getLogger(__name__)


BULK_PLAN_FROM = 50  # members due in one tick from which all due cards are planned at once


class DeliveryStatus:
    SENT = "sent"
    NOTHING_DUE = "nothing_due"
    FAILED = "failed"
    TAKEN = "taken"  # claimed by another tick or process first


@dataclass
class DeliveryReport:
    """What one run did. `sent` etc. count members; `errors` maps a member to Slack's error."""

    checked: int = 0  # active learners looked at
    due_now: int = 0  # whose delivery moment had come and was not yet claimed
    sent: int = 0
    nothing_due: int = 0
    failed: int = 0
    taken: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    users_sent: list[str] = field(default_factory=list)


def _candidates(svc: SlackServices, now: datetime) -> tuple[int, list[tuple[Learner, date]]]:
    """Active learners whose delivery moment of the current learning day has come and whose
    delivery of that day has not been claimed."""
    tutor = svc.ctx.tutor
    today_utc = now.astimezone(UTC).date()
    claimed = svc.state.claimed_deliveries(today_utc + timedelta(days=d) for d in (-1, 0, 1))
    found, checked = [], 0
    for learner in tutor.learners():
        if learner.paused or not learner.decks:
            continue
        checked += 1
        # The core's own rules (bot.learning_day), applied to the rows already read: no query each.
        day = days.learning_day(now, learner.tz)
        if (learner.user_id, day) in claimed:
            continue
        if now >= days.delivery_moment(day, learner.delivery_time, learner.tz):
            found.append((learner, day))
    return checked, found


def _refresh_zone(svc: SlackServices, learner: Learner, user: SlackUser | None, now: datetime) -> date | None:
    """Store a changed Slack time zone; return the learning day to deliver (None: not due yet)."""
    tutor = svc.ctx.tutor
    if user is None or not user.tz or user.tz == learner.tz:
        return tutor.learning_day(learner.user_id, now)
    tutor.set_timezone(learner.user_id, user.tz)
    day = tutor.learning_day(learner.user_id, now)
    return day if now >= tutor.delivery_moment(learner.user_id, day) else None


def deliver(svc: SlackServices, client: WebClient, learner: Learner, day: date, now: datetime,
            user: SlackUser | None, due: list[DueItem] | None = None) -> tuple[str, str | None]:
    """Claim and send one member's DM of `day` (`due`: their due cards, if already known).
    Returns (status, error)."""
    user_id = learner.user_id
    if due is None:
        due = svc.ctx.tutor.due_cards(user_id, now)
    claimed, session_id = svc.state.claim_delivery(user_id, day, now, due_cards=len(due))
    if not claimed:
        return DeliveryStatus.TAKEN, None
    if session_id is None:
        return DeliveryStatus.NOTHING_DUE, None
    if user is not None and user.deleted:
        error = "account_inactive"  # Slack accepts a post to a deactivated member's old DM; we don't send
        svc.state.finish_delivery(user_id, day, now, status=DeliveryStatus.FAILED, error=error)
        return DeliveryStatus.FAILED, error
    svc.pacer.acquire()
    try:
        note = f":wave: Your daily review: {len(due)} card{'s' if len(due) != 1 else ''} due."
        posted = post_session(svc, client, user_id, session_id, now, note=note, due=due)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or exc)
        svc.state.finish_delivery(user_id, day, now, status=DeliveryStatus.FAILED, error=error)
        return DeliveryStatus.FAILED, error
    except Exception as exc:  # a network failure after retries, a bug: record it, go on with the others
        log.exception("delivery to %s failed", user_id)
        error = f"{type(exc).__name__}: {exc}"
        svc.state.finish_delivery(user_id, day, now, status=DeliveryStatus.FAILED, error=error[:500])
        return DeliveryStatus.FAILED, error
    if posted is None:  # everything got reviewed between the count and the post
        svc.state.finish_delivery(user_id, day, now, status=DeliveryStatus.NOTHING_DUE)
        return DeliveryStatus.NOTHING_DUE, None
    svc.state.finish_delivery(user_id, day, now, status=DeliveryStatus.SENT, channel_id=posted.channel,
                              ts=posted.ts)
    return DeliveryStatus.SENT, None


def run_due_deliveries(ctx: AppContext | SlackServices, client: WebClient,
                       now: datetime | None = None) -> DeliveryReport:
    """Send every daily DM whose moment has come (made-up ones included). Safe to call as often as
    you like, from as many processes as you like: each (member, learning day) is sent at most once.
    `now` defaults to the context's clock."""
    svc = SlackServices.of(ctx)
    now = svc.now() if now is None else now
    report = DeliveryReport()
    report.checked, candidates = _candidates(svc, now)
    if not candidates:
        return report
    directory = svc.users.directory(client)
    work: list[tuple[Learner, date, SlackUser | None]] = []
    for learner, _ in candidates:
        user = directory.get(learner.user_id)
        day = _refresh_zone(svc, learner, user, now)
        if day is not None:
            work.append((learner, day, user))
    report.due_now = len(work)
    # Many members at once (the 09:00 wave): plan everyone's cards in one pass of the core.
    planned = svc.ctx.tutor.due_cards_for_all(now) if len(work) >= BULK_PLAN_FROM else None

    def one(item: tuple[Learner, date, SlackUser | None]) -> tuple[str, str, str | None]:
        learner, day, user = item
        try:
            due = None if planned is None else planned.get(learner.user_id, [])
            status, error = deliver(svc, client, learner, day, now, user, due)
        except Exception as exc:  # e.g. the database was locked past its timeout: next tick retries
            log.exception("delivery to %s could not be claimed", learner.user_id)
            status, error = DeliveryStatus.FAILED, f"{type(exc).__name__}: {exc}"
        return learner.user_id, status, error

    with ThreadPoolExecutor(max_workers=max(1, svc.workers), thread_name_prefix="tutor-dm") as pool:
        for user_id, status, error in pool.map(one, work):
            if status == DeliveryStatus.SENT:
                report.sent += 1
                report.users_sent.append(user_id)
            elif status == DeliveryStatus.NOTHING_DUE:
                report.nothing_due += 1
            elif status == DeliveryStatus.TAKEN:
                report.taken += 1
            else:
                report.failed += 1
                report.errors[user_id] = error or "unknown"
    if report.failed:
        log.warning("daily DMs: %d failed: %s", report.failed, report.errors)
    return report
