"""The one function every piece of user or deck text goes through on its way to Slack.

Slack reads `&`, `<` and `>` as markup in mrkdwn *and* in a message's `text` fallback: `<!channel>`
pings a channel, `<@U…>` a member, `<https://x|y>` disguises a link. Escaping the three characters
turns all of these into plain text (Slack shows `&lt;` as `<`).
"""

from __future__ import annotations


def esc(text: str) -> str:
    """Escape the three characters Slack treats as markup in mrkdwn and in `text` fallbacks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
