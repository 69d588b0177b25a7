"""The daily DM: each member gets one message a learning day, at their delivery time in their own
zone, holding the cards the core says are due (one at a time, see review.py).

Effectively once. A delivery is claimed in SQLite first, with the UNIQUE key (member, learning day),
and only the process whose INSERT landed sends: a restart, a second process started by mistake or a
tick that runs twice sends nothing twice. The message carries Slack metadata naming the delivery
(bot.slack.marks). A send whose outcome is unknown (the process was killed between the claim and the
"sent" mark, the connection dropped after the request, Slack answered fatal_error) stays 'claimed' and
is reconciled at a later tick (the first one runs at start-up) once it is a minute old: the member's
DM history since the claim is read for the mark; found -> marked sent, with its ts; absent -> sent now
(after its learning day it is marked failed instead, as expired). A delivery missed while the bot was
down is made up at the next tick as long as its learning day is still on (the core's rule: until
04:00 local).

One member never stops the others: a refused send (member left, deactivated, DMs blocked) is recorded
with Slack's error, and so is any failure of one member's zone, plan or send; a zone this server's tz
database lacks falls back to the stored one (bot.zones). Sends are paced (`Pacer`, TUTOR_DM_RATE a
second overall) and slack_sdk retries 429s.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import learning_day as days
from bot.slack import marks
from bot.slack.admin import SlackUser
from bot.slack.client import describe_failure, refused_by_slack
from bot.slack.context import AppContext
from bot.slack.review import post_session
from bot.slack.services import SlackServices
from bot.tutor import DueItem, Learner
from storage.slack_state import Delivery

log = logging.getLogger(__name__)


BULK_PLAN_FROM = 50  # members due in one tick from which all due cards are planned at once


class DeliveryStatus:
    SENT = "sent"
    NOTHING_DUE = "nothing_due"
    FAILED = "failed"
    TAKEN = "taken"  # claimed by another tick or process first
    PENDING = "pending"  # outcome unknown: left claimed, reconciled at a later tick
    RECOVERED = "recovered"  # an unfinished delivery found in the member's DM history


@dataclass
class DeliveryReport:
    """What one run did. `sent` etc. count members; `errors` maps a member to what went wrong."""

    checked: int = 0  # active learners looked at
    due_now: int = 0  # whose delivery moment had come and was not yet claimed
    sent: int = 0
    nothing_due: int = 0
    failed: int = 0
    taken: int = 0
    pending: int = 0
    recovered: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    users_sent: list[str] = field(default_factory=list)

    def add(self, user_id: str, status: str, error: str | None = None) -> None:
        if status == DeliveryStatus.SENT:
            self.sent += 1
            self.users_sent.append(user_id)
        elif status == DeliveryStatus.RECOVERED:
            self.recovered += 1
        elif status == DeliveryStatus.NOTHING_DUE:
            self.nothing_due += 1
        elif status == DeliveryStatus.TAKEN:
            self.taken += 1
        else:
            if status == DeliveryStatus.PENDING:
                self.pending += 1
            else:
                self.failed += 1
            self.errors[user_id] = error or "unknown"

    def failure(self, user_id: str, exc: Exception, what: str) -> None:
        """Record one member's unexpected failure (logged with its traceback); the others go on."""
        log.exception("daily DM of %s: %s", user_id, what)
        self.add(user_id, DeliveryStatus.FAILED, describe_failure(exc))


def _candidates(svc: SlackServices, now: datetime, report: DeliveryReport) -> list[tuple[Learner, date]]:
    """Active learners whose delivery moment of the current learning day has come and whose
    delivery of that day has not been claimed."""
    tutor = svc.ctx.tutor
    today_utc = now.astimezone(UTC).date()
    claimed = svc.state.claimed_deliveries(today_utc + timedelta(days=d) for d in (-1, 0, 1))
    found = []
    for learner in tutor.learners():
        if learner.paused or not learner.decks:
            continue
        report.checked += 1
        try:
            # The core's own rules (bot.learning_day), applied to the rows already read: no query each.
            day = days.learning_day(now, learner.tz)
            if (learner.user_id, day) in claimed:
                continue
            if now >= days.delivery_moment(day, learner.delivery_time, learner.tz):
                found.append((learner, day))
        except Exception as exc:
            report.failure(learner.user_id, exc, "could not tell whether it is due")
    return found


def _refresh_zone(svc: SlackServices, learner: Learner, user: SlackUser | None, now: datetime) -> date | None:
    """Store a changed Slack time zone; return the learning day to deliver (None: not due yet). A
    zone this server does not know arrives here as None (SlackUsers), so the stored one stays."""
    tutor = svc.ctx.tutor
    if user is None or not user.tz or user.tz == learner.tz:
        return tutor.learning_day(learner.user_id, now)
    tutor.set_timezone(learner.user_id, user.tz)
    day = tutor.learning_day(learner.user_id, now)
    return day if now >= tutor.delivery_moment(learner.user_id, day) else None


def _send(svc: SlackServices, client: WebClient, claim: Delivery, now: datetime, user: SlackUser | None,
          due: list[DueItem]) -> tuple[str, str | None]:
    """Post the claimed DM, marked with its delivery id, and record what Slack answered."""
    user_id, day = claim.user_id, claim.learning_day
    if user is not None and user.deleted:
        error = "account_inactive"  # Slack accepts a post to a deactivated member's old DM; we don't send
        svc.state.finish_delivery(user_id, day, now, status=DeliveryStatus.FAILED, error=error)
        return DeliveryStatus.FAILED, error
    assert claim.session_id is not None
    svc.pacer.acquire()
    try:
        note = f":wave: Your daily review: {len(due)} card{'s' if len(due) != 1 else ''} due."
        posted = post_session(svc, client, user_id, claim.session_id, now, note=note, due=due,
                              mark=marks.daily_review(claim.id))
    except Exception as exc:
        refused = refused_by_slack(exc)
        if refused is None:  # Slack may have stored it: look before sending again (reconcile)
            error = describe_failure(exc)
            log.warning("daily DM %s of %s: outcome unknown (%s); it will be reconciled", claim.id,
                        user_id, error, exc_info=not isinstance(exc, (OSError, SlackApiError)))
            svc.state.note_delivery_attempt(claim.id, error)
            return DeliveryStatus.PENDING, error
        svc.state.finish_delivery(user_id, day, now, status=DeliveryStatus.FAILED, error=refused)
        return DeliveryStatus.FAILED, refused
    if posted is None:  # everything got reviewed between the count and the post
        svc.state.finish_delivery(user_id, day, now, status=DeliveryStatus.NOTHING_DUE)
        return DeliveryStatus.NOTHING_DUE, None
    svc.state.finish_delivery(user_id, day, now, status=DeliveryStatus.SENT, channel_id=posted.channel,
                              ts=posted.ts)
    return DeliveryStatus.SENT, None


def deliver(svc: SlackServices, client: WebClient, learner: Learner, day: date, now: datetime,
            user: SlackUser | None, due: list[DueItem] | None = None) -> tuple[str, str | None]:
    """Claim and send one member's DM of `day` (`due`: their due cards, if already known).
    Returns (status, error)."""
    user_id = learner.user_id
    if due is None:
        due = svc.ctx.tutor.due_cards(user_id, now)
    claim = svc.state.claim_delivery(user_id, day, now, due_cards=len(due))
    if claim is None:
        return DeliveryStatus.TAKEN, None
    if claim.session_id is None:
        return DeliveryStatus.NOTHING_DUE, None
    return _send(svc, client, claim, now, user, due)


def _reconcile(svc: SlackServices, client: WebClient, claim: Delivery,
               now: datetime) -> tuple[str, str | None]:
    """Settle one unfinished delivery from the member's DM history (see the module doc)."""
    if not svc.state.retake_delivery(claim.id, claim.attempts, now):
        return DeliveryStatus.TAKEN, None
    retaken = replace(claim, attempts=claim.attempts + 1, attempted_at=now)
    given_up = retaken.attempts > marks.MAX_ATTEMPTS

    def fail(error: str) -> tuple[str, str | None]:
        svc.state.finish_delivery(claim.user_id, claim.learning_day, now, status=DeliveryStatus.FAILED,
                                  error=error[:500])
        return DeliveryStatus.FAILED, error

    # The DM channel is opened and remembered before the post: without one, nothing was posted.
    channel = svc.state.dm_channel(claim.user_id)
    if channel is not None:
        try:
            ts = marks.find_marked(client, channel, marks.daily_review(claim.id), since=claim.claimed_at)
        except Exception as exc:
            if given_up:
                return fail(f"could not read the DM history: {describe_failure(exc)}")
            raise
        if ts is not None:
            svc.state.finish_delivery(claim.user_id, claim.learning_day, now, status=DeliveryStatus.SENT,
                                      channel_id=channel, ts=ts)
            return DeliveryStatus.RECOVERED, None
    if given_up:
        return fail(f"not sent after {claim.attempts} attempts: {claim.error or 'outcome unknown'}")
    tutor = svc.ctx.tutor
    if tutor.learning_day(claim.user_id, now) != claim.learning_day:
        return fail("expired: its learning day ended before it could be sent")
    due = tutor.due_cards(claim.user_id, now)
    return _send(svc, client, retaken, now, svc.users.info(client, claim.user_id), due)


def reconcile_deliveries(svc: SlackServices, client: WebClient, now: datetime,
                         report: DeliveryReport) -> None:
    """Settle every claimed DM whose latest attempt began more than RECONCILE_AFTER ago."""
    for claim in svc.state.stale_delivery_claims(now - marks.RECONCILE_AFTER):
        try:
            status, error = _reconcile(svc, client, claim, now)
        except Exception as exc:  # e.g. the history could not be read: the next tick tries again
            status, error = DeliveryStatus.PENDING, describe_failure(exc)
            log.warning("unfinished daily DM %s of %s not settled yet: %s", claim.id, claim.user_id, error)
        report.add(claim.user_id, status, error)


def _plan_everyone(svc: SlackServices, now: datetime) -> dict[str, list[DueItem]] | None:
    """Everyone's due cards in one pass; None (each member planned alone) when that pass fails."""
    try:
        return svc.ctx.tutor.due_cards_for_all(now)
    except Exception:
        log.exception("planning every member's cards at once failed; planning each member alone")
        return None


def run_due_deliveries(ctx: AppContext | SlackServices, client: WebClient,
                       now: datetime | None = None) -> DeliveryReport:
    """Settle unfinished DMs, then send every daily DM whose moment has come (made-up ones
    included). Safe to call as often as you like, from as many processes as you like: each (member,
    learning day) is sent once. `now` defaults to the context's clock."""
    svc = SlackServices.of(ctx)
    now = svc.now() if now is None else now
    report = DeliveryReport()
    reconcile_deliveries(svc, client, now, report)
    candidates = _candidates(svc, now, report)
    if not candidates:
        return report
    directory = svc.users.directory(client)
    work: list[tuple[Learner, date, SlackUser | None]] = []
    for learner, _ in candidates:
        user = directory.get(learner.user_id)
        try:
            day = _refresh_zone(svc, learner, user, now)
        except Exception as exc:
            report.failure(learner.user_id, exc, "its time zone could not be updated")
            continue
        if day is not None:
            work.append((learner, day, user))
    report.due_now = len(work)
    # Many members at once (the 09:00 wave): plan everyone's cards in one pass of the core.
    planned = _plan_everyone(svc, now) if len(work) >= BULK_PLAN_FROM else None

    def one(item: tuple[Learner, date, SlackUser | None]) -> tuple[str, str, str | None]:
        learner, day, user = item
        try:
            due = None if planned is None else planned.get(learner.user_id, [])
            status, error = deliver(svc, client, learner, day, now, user, due)
        except Exception as exc:  # e.g. their cards could not be planned, the database was locked
            log.exception("daily DM of %s failed", learner.user_id)
            status, error = DeliveryStatus.FAILED, describe_failure(exc)
        return learner.user_id, status, error

    with ThreadPoolExecutor(max_workers=max(1, svc.workers), thread_name_prefix="tutor-dm") as pool:
        for user_id, status, error in pool.map(one, work):
            report.add(user_id, status, error)
    if report.failed or report.pending:
        log.warning("daily DMs: %d failed, %d unconfirmed: %s", report.failed, report.pending, report.errors)
    return report
