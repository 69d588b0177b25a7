"""The one function every piece of user or deck text goes through on its way to Slack.

Slack reads `&`, `<` and `>` as markup in mrkdwn *and* in a message's `text` fallback: `<!channel>`
pings a channel, `<@U…>` a member, `<https://x|y>` disguises a link. Escaping the three characters
turns all of these into plain text (Slack shows `&lt;` as `<`).

`defuse` is the net under it, applied by `bot.slack.blocks.Message` (and the Home view) to every
mrkdwn text it sends: the only markup the bot itself writes is a channel link `<#C…>` and a member
mention `<@U…>` (ids it got from Slack), so any other `<` there (`<!channel>`, `<!here>`, a link)
is text that skipped `esc` (a bug, logged), and it is escaped before Slack sees it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger(__name__)

# A `<` that does not open a channel link (`<#C0123>`, `<#C0123|general>`, a DM's `<#D…>`) or a
# member mention (`<@U0123>`) the bot wrote.
_STRAY_MARKUP = re.compile(r"<(?!#[CDG][A-Z0-9]++(?:\|[^<>|]*+)?>|@[UW][A-Z0-9]++>)")


def esc(text: str) -> str:
    """Escape the three characters Slack treats as markup in mrkdwn and in `text` fallbacks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unesc(text: str) -> str:
    """The inverse of `esc` (for making a plain fallback of mrkdwn built from escaped parts)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def defuse(mrkdwn: str) -> str:
    """`mrkdwn` with every `<` escaped that does not open a channel link or a member mention."""
    safe = _STRAY_MARKUP.sub(esc("<"), mrkdwn)
    if safe != mrkdwn:
        log.warning("unescaped Slack markup in a message (escaped now; the text skipped esc()): %r",
                    mrkdwn[:120])
    return safe


def defuse_blocks(value: Any) -> Any:
    """A copy of Block Kit JSON with `defuse` applied to every mrkdwn text object."""
    if isinstance(value, list):
        return [defuse_blocks(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: defuse_blocks(item) for key, item in value.items()}
    if out.get("type") == "mrkdwn" and isinstance(out.get("text"), str):
        out["text"] = defuse(out["text"])
    return out
