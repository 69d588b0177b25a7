"""What the Slack side keeps for the life of the process, shared by listeners and the scheduler:
the Slack rows (SlackState, AssignmentState), the users cache, the DM pacer, the tally coalescer, and
the fallback for stored schedule zones this server's tz database lacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.slack.admin import SlackUsers
from bot.slack.context import AppContext
from bot.slack.pacing import Coalescer, Pacer
from bot.zones import ZoneFallback
from storage.slack_assignments import AssignmentState
from storage.slack_state import SlackState

DELIVERY_WORKERS = 4  # DMs sent in parallel (each waits on Slack's answer); the pacer sets the rate


@dataclass
class SlackServices:
    ctx: AppContext
    state: SlackState
    users: SlackUsers
    pacer: Pacer
    refreshes: Coalescer
    assignments: AssignmentState
    workers: int = DELIVERY_WORKERS
    zones: ZoneFallback = field(default_factory=ZoneFallback)

    @classmethod
    def create(cls, ctx: AppContext, *, dm_rate_per_s: float | None = None,
               workers: int = DELIVERY_WORKERS) -> SlackServices:
        rate = ctx.settings.dm_rate_per_s if dm_rate_per_s is None else dm_rate_per_s
        return cls(ctx=ctx, state=SlackState(ctx.db), users=SlackUsers(ctx.settings), pacer=Pacer(rate),
                   refreshes=Coalescer(), assignments=AssignmentState(ctx.db), workers=workers)

    @classmethod
    def of(cls, ctx: AppContext | SlackServices) -> SlackServices:
        """The services given, or new ones over a bare context (a one-off call from a script)."""
        return ctx if isinstance(ctx, SlackServices) else cls.create(ctx)

    def now(self) -> datetime:
        """The current moment from the context's clock (simulated in tests), timezone-aware."""
        return self.ctx.clock()
