"""`tutor optimize --user NAME [--json]` (or `--deck DECK` for the deck's team prior): fit FSRS's
parameters now, adopt them only if they beat the ones in use, and print what happened. The bot does
the same in the background weekly and after every few hundred new reviews (bot/memory_models.py)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.memory_models import FitReport, fit_member, fit_team


def add_parser(commands: Any) -> None:
    help_text = "fit a member's (or a deck's team) FSRS parameters now"
    sub = commands.add_parser("optimize", help=help_text, description=help_text)
    who = sub.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="the member whose parameters to fit")
    who.add_argument("--deck", help="fit the team prior of this deck (everyone's reviews of it)")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(handler=optimize)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def describe(report: FitReport) -> str:
    whose = f"memory model of {report.owner}" if report.scope == "member" else f"team prior of {report.owner}"
    lines = [f"{whose}: {report.outcome.replace('_', ' ')} ({_count(report.reviews, 'review')}; "
             f"fitted on {report.trained_on:,}, scored on {report.scored:,} held out)"]
    if report.current is not None and report.fitted is not None:
        lines.append(f"  log loss   {_score(report.current.log_loss)} in use, "
                     f"{_score(report.fitted.log_loss)} fitted")
        lines.append(f"  RMSE(bins) {_score(report.current.rmse_bins)} in use, "
                     f"{_score(report.fitted.rmse_bins)} fitted")
    if report.detail:
        lines.append(f"  {report.detail}")
    lines.append(f"  {report.seconds:.2f} s")
    return "\n".join(lines)


def optimize(args: argparse.Namespace) -> int:
    from bot.cli import _print_json, _tutor
    from bot.tutor import TutorError

    tutor = _tutor(args)
    if args.user is not None:
        if tutor.learner(args.user) is None:
            raise TutorError(f"{args.user!r} is not a learner yet: nothing to fit")
        with tutor.lock:
            report = fit_member(tutor.db, args.user)
    else:
        tutor.deck(args.deck)  # names the decks there are when this one is not
        with tutor.lock:
            report = fit_team(tutor.db, args.deck)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(describe(report))
    return 0
