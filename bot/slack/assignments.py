"""A deck assigned to a channel: every member of the channel is enrolled in its daily DM review, and
so is whoever joins the channel later (`member_joined_channel`), until it is unassigned.

Rules, in `enroll`: bots, deactivated accounts and the tutor itself are passed over; a member already
in the deck is left as they are; a member who once left the deck is never enrolled again by an
assignment (leaving is their choice); everyone else joins the deck, and a member who was not a
learner yet gets the assignment's time (converted from its zone to theirs). Each member enrolled is
told once per deck, in a DM, how to pause, change the time or leave: the notice is a row first
(storage/slack_assignments.py), then sent by `send_notices`, which the minute tick also runs, so a
restart before the send still tells them; the DM carries a mark (bot/slack/marks.py), so a send
whose outcome is unknown is settled from the DM's history instead of being sent twice.

Each member is isolated: one failure is counted and logged, the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack import marks
from bot.slack.admin import SlackUser
from bot.slack.blocks import Message, esc, reply
from bot.slack.review import dm_channel
from bot.slack.services import SlackServices
from storage.slack_assignments import Assignment, Notice

log = logging.getLogger(__name__)


@dataclass
class EnrollReport:
    enrolled: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # left the deck once: not enrolled again
    passed_over: list[str] = field(default_factory=list)  # bots, deactivated, unknown to Slack
    failed: list[str] = field(default_factory=list)


@dataclass
class NoticeReport:
    sent: int = 0
    failed: int = 0
    recovered: int = 0  # found in the DM's history after an unknown outcome
    pending: int = 0  # outcome still unknown: the next tick tries again


def channel_members(client: WebClient, channel_id: str) -> list[str]:
    """Every member of the channel (conversations.members, paged)."""
    members: list[str] = []
    for page in client.conversations_members(channel=channel_id, limit=1000):
        members += page.get("members", [])
    return members


def member_time(at: time, tz: str | None, member_tz: str, now: datetime) -> time:
    """`at` in `tz` (today) as a wall-clock time in the member's zone; `at` itself without a zone."""
    if tz is None:
        return at
    moment = datetime.combine(now.astimezone(ZoneInfo(tz)).date(), at, tzinfo=ZoneInfo(tz))
    return moment.astimezone(ZoneInfo(member_tz)).time().replace(second=0, microsecond=0)


def enroll(svc: SlackServices, client: WebClient, assignment: Assignment, user_ids: Iterable[str],
           now: datetime, *, bot_user_id: str | None = None) -> EnrollReport:
    """Apply the assignment to these members (see the module doc); safe to run again (Slack retries
    events; an admin may assign twice): what was done for a member is recorded once."""
    report = EnrollReport()
    users = list(dict.fromkeys(user_ids))
    directory = svc.users.directory(client) if len(users) > 1 else {}
    for user_id in users:
        try:
            user = directory.get(user_id) or svc.users.info(client, user_id)
            outcome = _enroll_one(svc, assignment, user_id, user, now, bot_user_id)
        except Exception:  # one member's failure (a locked database, a Slack error) stops no one else
            log.exception("assignment %d: enrolling %s failed", assignment.id, user_id)
            report.failed.append(user_id)
            continue
        getattr(report, outcome).append(user_id)
    return report


def _enroll_one(svc: SlackServices, assignment: Assignment, user_id: str, user: SlackUser | None,
                now: datetime, bot_user_id: str | None) -> str:
    if user is None or user.is_bot or user.deleted or user_id == bot_user_id:
        return "passed_over"
    tutor = svc.ctx.tutor
    status = tutor.enrollment(user_id, assignment.deck)
    if status is not None:
        outcome = "already" if status == "active" else "left"
        svc.assignments.record_member(assignment.id, user_id, outcome, now)
        return outcome
    new_learner = tutor.learner(user_id) is None
    learner = tutor.ensure_learner(user_id, name=user.name, tz=user.tz)
    tutor.join(user_id, assignment.deck)
    if new_learner and assignment.at_time is not None:
        tutor.set_delivery_time(user_id, member_time(assignment.at_time, assignment.tz, learner.tz, now))
    svc.assignments.record_member(assignment.id, user_id, "enrolled", now)
    svc.assignments.add_notice(user_id, assignment.deck, assignment.id, now)
    return "enrolled"


def notice_message(svc: SlackServices, notice: Notice, assignment: Assignment | None) -> Message:
    """The one DM a member gets when an assignment enrolls them."""
    tutor = svc.ctx.tutor
    title = next((d.title for d in tutor.decks() if d.slug == notice.deck), notice.deck)
    learner = tutor.learner(notice.user_id)
    where = ""
    if assignment is not None:
        where = f", assigned to <#{assignment.channel_id}> by <@{assignment.created_by}>"
    when = (f"Every day at *{learner.delivery_time:%H:%M}* ({esc(learner.tz)}) a short review comes here"
            if learner is not None else "Every day a short review comes here")
    return reply(f"You are now in the daily review of *{esc(title)}*{where}. {when}, in this DM.\n"
                 f"• `/tutor pause` pauses it (`/tutor resume` starts it again)\n"
                 f"• `/tutor time 08:30` changes the time (your local time)\n"
                 f"• `/tutor leave {esc(notice.deck)}` leaves the deck; your progress is kept\n"
                 f"• `/tutor review` starts one now")


def _send_notice(svc: SlackServices, client: WebClient, notice: Notice, now: datetime,
                 assignments: dict[int, Assignment]) -> None:
    """Post the notice (marked) and record it sent. SlackApiError: Slack refused it, it is failed;
    any other error (a dropped connection) leaves the outcome unknown, for `_settle`."""
    message = marks.enrollment_notice(notice.id).on(
        notice_message(svc, notice, assignments.get(notice.assignment_id)))
    svc.pacer.acquire()
    try:
        client.chat_postMessage(channel=dm_channel(svc, client, notice.user_id), **message.as_kwargs())
    except SlackApiError as exc:
        svc.assignments.finish_notice(notice, now, error=str(exc.response.get("error")))
        raise
    svc.assignments.finish_notice(notice, now)


def _settle(svc: SlackServices, client: WebClient, notice: Notice, now: datetime,
            assignments: dict[int, Assignment]) -> str:
    """A notice whose send has an unknown outcome: found in the DM -> sent; else sent again, until
    marks.MAX_ATTEMPTS. Returns what happened: recovered, sent, failed or taken (by another caller)."""
    if not svc.assignments.retake_notice(notice, now):
        return "taken"
    channel = svc.state.dm_channel(notice.user_id)
    if channel is not None:
        mark = marks.enrollment_notice(notice.id)
        if marks.find_marked(client, channel, mark, since=notice.created_at) is not None:
            svc.assignments.finish_notice(notice, now)
            return "recovered"
    if notice.attempts + 1 > marks.MAX_ATTEMPTS:
        svc.assignments.finish_notice(notice, now, error=f"not sent after {notice.attempts} attempts")
        return "failed"
    _send_notice(svc, client, replace(notice, attempts=notice.attempts + 1), now, assignments)
    return "sent"


def send_notices(svc: SlackServices, client: WebClient, now: datetime) -> NoticeReport:
    """Settle the notices whose send had an unknown outcome, then send every queued one (each claimed
    first), paced like the daily DMs. Run after an assignment, after a member joins, and by the
    minute tick. One member's failure stops no one else."""
    report = NoticeReport()
    stale = svc.assignments.stale_notices(now - marks.RECONCILE_AFTER)
    fresh = svc.assignments.claim_notices(now)
    if not stale and not fresh:
        return report
    assignments = {a.id: a for a in svc.assignments.active()}
    for notice in stale:
        try:
            outcome = _settle(svc, client, notice, now, assignments)
        except Exception as exc:  # the history could not be read, or the send failed: next tick
            log.warning("the enrollment DM to %s is not settled yet: %s", notice.user_id, exc)
            report.pending += 1
            continue
        if outcome == "recovered":
            report.recovered += 1
        elif outcome == "sent":
            report.sent += 1
        elif outcome == "failed":
            report.failed += 1
    for notice in fresh:
        try:
            _send_notice(svc, client, notice, now, assignments)
        except SlackApiError as exc:
            log.warning("the enrollment DM to %s failed: %s", notice.user_id, exc.response.get("error"))
            report.failed += 1
            continue
        except Exception:  # outcome unknown: settled from the DM's history by a later tick
            log.exception("the enrollment DM to %s may not have been sent", notice.user_id)
            report.pending += 1
            continue
        report.sent += 1
    return report


def on_member_joined(svc: SlackServices, client: WebClient, channel_id: str, user_id: str, *,
                     bot_user_id: str | None) -> EnrollReport | None:
    """A member joined a channel: apply its assignments to them; None when it has none."""
    assignments = svc.assignments.active(channel_id=channel_id)
    if not assignments or user_id == bot_user_id:
        return None
    now = svc.now()
    report = EnrollReport()
    for assignment in assignments:
        done = enroll(svc, client, assignment, [user_id], now, bot_user_id=bot_user_id)
        for name in ("enrolled", "already", "left", "passed_over", "failed"):
            getattr(report, name).extend(getattr(done, name))
    send_notices(svc, client, now)
    return report
