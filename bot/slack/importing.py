"""`/tutor import`: take the deck file an admin last shared in their DM with the bot, lint it, and
import it when it has no errors.

The file is downloaded from its `url_private_download` with the bot token (Slack's private file
URLs need `Authorization: Bearer`). Without the files:read scope Slack answers with its HTML login
page instead of the file, which is detected and explained. Files over MAX_IMPORT_BYTES are refused.
The file is parsed and linted in a child process with a time limit (content.isolated), never on a
thread of the bot, where a slow file would hold the GIL and starve every other member's ack.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.slack.blocks import Message, clip, context, esc, plural, section
from bot.slack.review import dm_channel
from bot.slack.services import SlackServices
from bot.tutor import ImportResult
from content.isolated import load_deck_text_in_child
from content.lint import LintIssue
from content.loader import LoadedDeck
from content.model import DeckFormatError

MAX_IMPORT_BYTES = 1_000_000
HISTORY_LIMIT = 100  # messages of the DM searched for the latest file
ISSUES_SHOWN = 25
DOWNLOAD_TIMEOUT_S = 30
PARSE_TIME_LIMIT_S = 30.0  # for parsing and lint in the child process


class ImportProblem(ValueError):
    """Why nothing could be imported, in words for the admin."""


@dataclass(frozen=True)
class SharedFile:
    id: str
    name: str
    url: str
    size: int | None
    mimetype: str | None


def latest_shared_file(client: WebClient, channel_id: str, user_id: str) -> SharedFile | None:
    """The newest file `user_id` shared in the conversation `channel_id` (newest message first)."""
    history = client.conversations_history(channel=channel_id, limit=HISTORY_LIMIT)
    messages: list[dict] = history.get("messages") or []
    for message in messages:
        if message.get("user") != user_id:
            continue
        for item in message.get("files") or []:
            url = item.get("url_private_download") or item.get("url_private")
            if url:
                return SharedFile(id=item.get("id", ""), name=item.get("name") or "deck.txt", url=url,
                                  size=item.get("size"), mimetype=item.get("mimetype"))
    return None


def download(file: SharedFile, token: str, *, limit: int = MAX_IMPORT_BYTES) -> bytes:
    """The file's bytes; ImportProblem when it is too big or Slack sent a web page instead."""
    if file.size is not None and file.size > limit:
        raise ImportProblem(f"`{file.name}` is {file.size / 1e6:.1f} MB; a deck file is at most "
                            f"{limit / 1e6:.0f} MB.")
    request = urllib.request.Request(file.url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            kind = response.headers.get("Content-Type", "")
            data = response.read(limit + 1)
    except (urllib.error.URLError, TimeoutError) as exc:
        raise ImportProblem(f"I could not download `{file.name}` from Slack ({exc}); try again.") from exc
    if len(data) > limit:
        raise ImportProblem(f"`{file.name}` is over {limit / 1e6:.0f} MB; a deck file is smaller.")
    looks_html = data.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
    if kind.startswith("text/html") and not file.name.lower().endswith((".html", ".htm")) or looks_html:
        raise ImportProblem("Slack sent me a web page instead of the file: the app lacks the `files:read` "
                            "scope. Add it (it is in manifest.yml), reinstall the app, and try again.")
    return data


def decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportProblem(f"`{name}` is not UTF-8 text; save it as UTF-8 (.txt or .yaml).") from exc


def issue_line(issue: LintIssue) -> str:
    where = f"line {issue.line}" if issue.line is not None else "deck"
    icon = ":x:" if issue.severity.value == "error" else ":warning:"
    return f"{icon} {where}: {esc(issue.message)}"


def report_message(name: str, loaded: LoadedDeck, result: ImportResult | None) -> Message:
    """The lint report and what was imported (or why nothing was)."""
    deck = loaded.deck
    errors, warnings = loaded.errors, loaded.warnings
    head = (f"*`{esc(name)}`* → deck `{deck.slug}` ({esc(deck.title)}): {plural(len(deck.cards), 'card')}, "
            f"{plural(len(errors), 'error')}, {plural(len(warnings), 'warning')}")
    blocks = [section(head)]
    shown = [*errors, *warnings][:ISSUES_SHOWN]
    if shown:
        more = len(errors) + len(warnings) - len(shown)
        lines = "\n".join(issue_line(i) for i in shown) + (f"\n…and {more} more" if more > 0 else "")
        blocks.append(section(clip(lines, 2900)))
    if result is None:
        verdict = ":no_entry: Nothing imported: fix the errors above and share the file again."
        text = f"{name}: {len(errors)} errors, nothing imported"
    else:
        verdict = (f":white_check_mark: Imported `{result.deck}`: {result.added} added, "
                   f"{result.updated} updated, "
                   f"{result.retired} retired, {result.unchanged} unchanged. Members join with "
                   f"`/tutor join {result.deck}`.")
        text = f"Imported {result.deck}: {result.added} added, {result.updated} updated"
    blocks.append(section(verdict))
    return Message(text, blocks)


def import_from_dm(svc: SlackServices, client: WebClient, user_id: str) -> Message:
    """Find, download, lint and (when clean) import the admin's latest shared deck file."""
    channel = dm_channel(svc, client, user_id)
    shared = latest_shared_file(client, channel, user_id)
    if shared is None:
        return Message("No file found in our DM", [
            section("I found no file in our DM. Drop a recap page (.txt) or a YAML deck (.yaml) into "
                    "this conversation with me, then run `/tutor import` again."),
            context("I look at the latest file you shared in your DM with me.")])
    token = client.token or svc.ctx.settings.slack_bot_token or ""
    try:
        text = decode(download(shared, token), shared.name)
        loaded = load_deck_text_in_child(text, filename=shared.name, time_limit_s=PARSE_TIME_LIMIT_S)
    except DeckFormatError as exc:
        raise ImportProblem(f"`{shared.name}` is not a deck: {exc}") from exc
    result = None
    if not loaded.errors:
        result = svc.ctx.tutor.import_deck(loaded.deck, source=f"slack:{shared.name}")
    return report_message(shared.name, loaded, result)
