"""Admin `/tutor` verbs: schedule a question of the day, list and remove schedules, import a deck.
The caller has been checked to be an admin (tutor_command.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import Message, esc, format_when, reply, section
from bot.slack.blocks_home import schedule_line
from bot.slack.importing import import_from_dm
from bot.slack.parsing import ChannelRef, CommandError, format_days, parse_schedule, parse_schedule_id
from bot.slack.qotd import close_schedule
from bot.slack.services import SlackServices
from content.model import MultipleChoice
from storage.slack_state import ChannelSchedule

Command = dict[str, Any]

NOT_VISIBLE = ("I can't see {label}. For a private channel, invite me first (`/invite @tutor` in it); "
               "then schedule again.")


def _find_by_name(client: WebClient, name: str) -> str:
    try:
        for page in client.conversations_list(types="public_channel,private_channel", exclude_archived=True,
                                              limit=1000):
            for channel in page.get("channels", []):
                if channel.get("name") == name:
                    return str(channel["id"])
    except SlackApiError as exc:
        raise CommandError(f"I could not look up #{name} ({exc.response.get('error')}). Mention the channel "
                           "as a link: type # and pick it from the list.") from exc
    raise CommandError(NOT_VISIBLE.format(label=f"#{name}"))


def resolve_channel(client: WebClient, ref: ChannelRef) -> tuple[str, str | None]:
    """The channel's id and name; joins a public channel the bot is not in yet."""
    channel_id = ref.id or _find_by_name(client, ref.name or "")
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as exc:
        raise CommandError(NOT_VISIBLE.format(label=ref.label)) from exc
    if info.get("is_im") or info.get("is_mpim"):
        raise CommandError("That is a DM; name a channel, like #general.")
    if not info.get("is_member"):
        if info.get("is_private"):
            raise CommandError(NOT_VISIBLE.format(label=ref.label))
        client.conversations_join(channel=channel_id)
    return channel_id, info.get("name") or ref.name


def next_post(schedule: ChannelSchedule, now: datetime) -> datetime | None:
    """The next moment the schedule posts (for the confirmation), UTC."""
    zone = ZoneInfo(schedule.tz)
    local = now.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        moment = datetime.combine(day, schedule.at_time, tzinfo=zone)
        if day.weekday() in schedule.days and moment >= now:
            return moment
    return None


def schedule(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    request = parse_schedule(args, default_tz=svc.ctx.settings.timezone)
    deck = svc.ctx.tutor.deck(request.deck)  # TutorError (shown as is) when unknown
    if not any(isinstance(c, MultipleChoice) and c.answer is not None for c in deck.cards):
        raise CommandError(f"`{deck.slug}` has no multiple-choice question with an answer key to ask.")
    channel_id, name = resolve_channel(client, request.channel)
    now = svc.now()
    created = svc.state.add_schedule(channel_id=channel_id, channel_name=name, deck=deck.slug,
                                     at_time=request.at,
                                     days=request.days, tz=request.tz, close_time=request.close,
                                     created_by=command["user_id"], now=now)
    first = format_when(next_post(created, now), created.tz, now)
    close = (f" Answers close at {request.close:%H:%M}." if request.close
             else " Each question closes when the next one is posted.")
    return reply(f"Scheduled *{created.id}*: a question of the day from `{deck.slug}` in <#{channel_id}>, "
                 f"{request.at:%H:%M} {format_days(created.days)} ({esc(created.tz)}). First one: *{first}*."
                 f"{close}\nStop it with `/tutor unschedule {created.id}`.")


def schedules(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    found = svc.state.schedules()
    if not found:
        return reply("No channel schedules. `/tutor schedule #channel DECK 09:00 mon-fri`")
    lines = []
    for item in found:
        posts = svc.state.posts(schedule_id=item.id)
        last = posts[-1] if posts else None
        status = ""
        if last is not None:
            status = f" · last {last.local_date:%a %d %b}: {last.status}"
            if last.error:
                status += f" (`{esc(last.error)}`)"
        lines.append(schedule_line(item) + status)
    return Message(f"{len(found)} channel schedules", [section("*Channel schedules*\n" + "\n".join(lines))])


def unschedule(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    schedule_id = parse_schedule_id(args)
    now = svc.now()
    removed = svc.state.remove_schedule(schedule_id, now)
    if removed is None:
        raise CommandError(f"There is no schedule {schedule_id}; `/tutor schedules` lists them.")
    closed = close_schedule(svc, client, schedule_id, now)
    extra = " Its open question was closed and answered in the thread." if closed else ""
    return reply(f"Stopped schedule *{schedule_id}* (<#{removed.channel_id}>, `{removed.deck}`).{extra}")


def import_deck(svc: SlackServices, client: WebClient, command: Command, args: tuple[str, ...]) -> Message:
    return import_from_dm(svc, client, command["user_id"])
