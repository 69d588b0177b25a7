"""Block Kit for the App Home tab: the member's streak, what is due, retention and the buttons to
review now, pause/resume and change the time, and their last tests; for admins, below: decks,
channel schedules, assigned decks with their members' participation, how each question fares (%
right, the wrong option chosen most) and the team's tests of each deck."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from bot.pattern_tests import DeckTestReport, PatternResult
from bot.slack.blocks import (
    Block,
    actions,
    button,
    clip,
    context,
    divider,
    esc,
    format_percent,
    format_when,
    header,
    plural,
    section,
)
from bot.slack.blocks_pattern import results_lines, team_lines
from bot.slack.escape import defuse_blocks
from bot.slack.parsing import format_days
from bot.tutor import CardStats, DeckSummary, Learner, LearnerStats
from storage.slack_assignments import Assignment, Participation
from storage.slack_state import ChannelSchedule

HOME_REVIEW = "home_review"
HOME_PAUSE = "home_pause"
HOME_RESUME = "home_resume"
HOME_TIME = "home_time"

HARDEST_SHOWN = 8  # per deck: the questions with the lowest share right


@dataclass(frozen=True)
class AdminPanel:
    decks: list[DeckSummary]
    schedules: list[ChannelSchedule]
    card_stats: dict[str, list[CardStats]]  # deck slug -> per-card stats
    assignments: list[tuple[Assignment, Participation]] = field(default_factory=list)
    tests: dict[str, DeckTestReport] = field(default_factory=dict)  # deck slug -> the team's tests


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": f"*{label}*\n{value}"}


def member_blocks(learner: Learner | None, stats: LearnerStats | None, now: datetime) -> list[Block]:
    blocks: list[Block] = [header("Your daily review")]
    if learner is None or not learner.decks or stats is None:
        blocks.append(section("You have not joined a deck yet. Run `/tutor join` to get a short review in a "
                              "DM every day at a time you choose, or `/tutor decks` to see them all."))
        return blocks
    daily = f"{learner.delivery_time:%H:%M} {esc(learner.tz)}" + (" · *paused*" if learner.paused else "")
    blocks.append({"type": "section", "fields": [
        _field("Streak", plural(stats.streak, "day")),
        _field("Due today", str(stats.due_today)),
        _field("This week", plural(stats.reviewed_this_week, "review")),
        _field("Retention (30 days)", format_percent(stats.retention_30d)),
        _field("Next review", format_when(stats.next_due, learner.tz, now)),
        _field("Daily DM", daily),
        *([_field("Memory model", esc(stats.memory.short()))] if stats.memory is not None else []),
    ]})
    toggle = (button("Resume daily DM", HOME_RESUME, style="primary") if learner.paused
              else button("Pause daily DM", HOME_PAUSE))
    picker = time_select(learner.delivery_time)
    blocks.append(actions(button("Review now", HOME_REVIEW, style="primary"), toggle, picker))
    blocks.append(context(f"Decks: {', '.join(f'`{d}`' for d in learner.decks)} · "
                          f"{plural(stats.cards_learned, 'card')} learned"))
    return blocks


def time_select(current: time) -> Block:
    """A static select of delivery times (every half hour, 05:00-22:30, and the current one): works
    on every Slack client, phones included."""
    choices = sorted({time(h, m) for h in range(5, 23) for m in (0, 30)} | {current})
    options = [{"text": {"type": "plain_text", "text": f"{t:%H:%M}"}, "value": f"{t:%H:%M}"} for t in choices]
    initial = next(o for o in options if o["value"] == f"{current:%H:%M}")
    return {"type": "static_select", "action_id": HOME_TIME, "options": options, "initial_option": initial,
            "placeholder": {"type": "plain_text", "text": "Daily DM time"}}


def schedule_line(schedule: ChannelSchedule) -> str:
    channel = f"<#{schedule.channel_id}>"
    close = f", closes {schedule.close_time:%H:%M}" if schedule.close_time else ""
    return (f"*{schedule.id}* · {channel} · `{schedule.deck}` · {schedule.at_time:%H:%M} "
            f"{format_days(schedule.days)} {esc(schedule.tz)}{close}")


def assignment_line(assignment: Assignment, seen: Participation) -> str:
    """`#team · deck · 12 members: 9 active, 2 paused, 1 left · 7 reviewed this week`."""
    at = f" · {assignment.at_time:%H:%M} {esc(assignment.tz or 'local')}" if assignment.at_time else ""
    return (f"• <#{assignment.channel_id}> · `{assignment.deck}`{at} · {plural(seen.members, 'member')}: "
            f"{seen.active} active, {seen.paused} paused, {seen.left} left · "
            f"{seen.reviewed_7d} reviewed in the last 7 days")


def card_stats_lines(stats: list[CardStats]) -> str:
    answered = [s for s in stats if s.attempts and s.percent_right is not None]
    answered.sort(key=lambda s: (s.percent_right or 0.0, -s.attempts))
    lines = []
    for item in answered[:HARDEST_SHOWN]:
        wrong = ""
        if item.most_chosen_wrong:
            wrong = f" · most chosen wrong: _{esc(clip(item.most_chosen_wrong, 60))}_"
        lines.append(f"• *{item.percent_right:.0f}%* right of {item.attempts} · "
                     f"{esc(clip(item.prompt, 80))}{wrong}")
    return "\n".join(lines)


def admin_blocks(panel: AdminPanel) -> list[Block]:
    blocks: list[Block] = [divider(), header("Admin")]
    if panel.decks:
        lines = "\n".join(f"• `{d.slug}` {esc(d.title)} · {plural(d.cards, 'card')} · "
                          f"{plural(d.learners, 'learner')} · retention goal {d.desired_retention:.0%}"
                          for d in panel.decks)
        blocks.append(section(f"*Decks*\n{lines}"))
    else:
        blocks.append(section("*Decks*\nNone yet: share a recap (.txt) or a YAML deck with me in a DM and "
                              "run "
                              "`/tutor import`."))
    if panel.schedules:
        lines = "\n".join(schedule_line(s) for s in panel.schedules)
        blocks.append(section(f"*Question of the day*\n{lines}"))
    else:
        blocks.append(section("*Question of the day*\nNo channel schedule. "
                              "`/tutor schedule #channel DECK 09:00 mon-fri`"))
    if panel.assignments:
        lines = "\n".join(assignment_line(a, p) for a, p in panel.assignments)
        blocks.append(section(f"*Assigned decks* (members in the daily review)\n{lines}"))
    else:
        blocks.append(section("*Assigned decks*\nNone. `/tutor assign #channel DECK` enrolls a channel's "
                              "members in a deck's daily review."))
    for deck in panel.decks:
        lines = card_stats_lines(panel.card_stats.get(deck.slug, []))
        if lines:
            blocks.append(section(f"*Hardest questions in `{deck.slug}`* (% right)\n{lines}"))
        report = panel.tests.get(deck.slug)
        if report is not None and report.members:
            blocks.append(section(f"*Tests of `{deck.slug}`*: latest scores, questions missed most\n"
                                  f"{team_lines(report)}"))
    return blocks


def home_view(learner: Learner | None, stats: LearnerStats | None, now: datetime, *,
              admin: AdminPanel | None = None, tests: list[PatternResult] | None = None) -> dict[str, Any]:
    """The Home tab view for views.publish; `tests`: the member's last tests, latest first."""
    blocks = member_blocks(learner, stats, now)
    if tests:
        blocks.append(section(f"*Your last tests* (`/tutor test`)\n{results_lines(tests)}"))
    if admin is not None:
        blocks += admin_blocks(admin)
    return {"type": "home", "blocks": defuse_blocks(blocks[:100])}
