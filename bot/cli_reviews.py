"""`tutor reviews import FILE --user NAME [--deck DECK] [--tz ZONE] [--json]`: bring a member's
review history from another tool (bot/history_import.py), so their memory model comes with them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.history_import import COLUMNS, import_history, parse_history


def add_parser(commands: Any) -> None:
    reviews = commands.add_parser("reviews", help="bring review histories in")
    actions = reviews.add_subparsers(dest="reviews_command", metavar="ACTION", required=True)
    help_text = f"import a review history CSV ({', '.join(COLUMNS)})"
    sub = actions.add_parser("import", help=help_text, description=help_text)
    sub.add_argument("file", metavar="FILE", help="the CSV file")
    sub.add_argument("--user", required=True, help="the member whose history it is")
    sub.add_argument("--deck", help="the deck whose cards it reviews (joined if needed); default: the "
                                    "member's decks. Other cards are kept as history only")
    sub.add_argument("--tz", help="the zone the history was made in (default: the member's)")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(handler=reviews_import)


def reviews_import(args: argparse.Namespace) -> int:
    from bot.cli import UsageError, _print_json, _tutor

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{args.file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{args.file}: cannot read it as text ({exc})") from None
    rows = parse_history(text)
    tutor = _tutor(args)
    learner = tutor.ensure_learner(args.user, tz=args.tz if tutor.learner(args.user) is None else None)
    if args.deck is not None and args.deck not in learner.decks:
        tutor.join(args.user, args.deck)
    result = import_history(tutor, args.user, rows, deck=args.deck, tz=args.tz, file=str(path.resolve()))
    if args.json:
        _print_json(result.to_dict())
    else:
        print(f"{result.user_id}: {result.rows:,} reviews of {result.cards:,} cards read "
              f"(learning days in {result.tz}): {result.scheduled_cards:,} cards of the deck scheduled from "
              f"{result.scheduled_reviews:,} reviews, {result.history_only:,} reviews kept as history only, "
              f"{result.already_there:,} already there")
        print(f"Fit the memory model now with: tutor optimize --user {result.user_id}")
    return 0
