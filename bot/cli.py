"""`tutor`: the command line, a thin shell over bot.tutor and content/.

    tutor deck show PATH [--json]        parse a deck (recap .txt/.md, .yaml, .json) without storing it
    tutor deck lint PATH [--json]        check it; exit 1 when it has errors
    tutor deck import PATH [--json]      store it (refused on lint errors)
    tutor deck list [--json]             decks in the database
    tutor deck export DECK --format yaml|json|apkg [-o OUT] [--user NAME]
    tutor review --user NAME [--deck DECK] [--tz ZONE]   review what is due, in the terminal
    tutor test --user NAME [--deck DECK] [--json]        test this pattern: 10 questions, easy to hard
    tutor explain DECK CARD_ID --answer TEXT [--json]    grade an answer to an open prompt
    tutor stats --user NAME [--json]
    tutor optimize --user NAME [--json]  fit a member's FSRS parameters now (bot/cli_optimize.py)
    tutor reviews import FILE --user NAME [--deck DECK] [--tz ZONE]   a history from another tool
    tutor serve [--http] [--host H] [--port N]   run the Slack app
    tutor doctor [--json]                token, scopes, database, decks and the demo, as a checklist
    tutor finetune DIR ...               the transfer-learning demo (see `tutor finetune -h`)
    tutor worker [--lane long|short]     the job worker for Celery (TUTOR_BROKER_URL)

`--db PATH` overrides TUTOR_DB, before or after the subcommand. Exit codes: 0 ok; 1 the command ran
and found a problem (lint errors, a refused request, Slack refusing the token); 2 bad usage or
unreadable input (the database included). User errors print one line on stderr, never a traceback;
output cut short by a closed pipe (`tutor deck show … | head`) ends quietly with status 141 like
other Unix tools. torch is imported only in worker processes (`tutor finetune`'s, the bot's,
`tutor worker`'s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import cli_explain, cli_optimize, cli_reviews, cli_test_pattern
from bot.config import ConfigError, ServiceError, Settings, load_settings
from bot.tutor import Tutor, TutorError
from bot.worker import cli as worker_cli
from content.model import Deck, DeckFormatError, Flashcard, MultipleChoice, Prompt, option_letter, plural
from storage.db import DatabaseOpenError

DB_HELP = "the SQLite database file (default: $TUTOR_DB or tutor.db; its folder must exist)"


class UsageError(Exception):
    """Bad input the user can fix (exit code 2)."""


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _settings() -> Settings:
    return load_settings()


def _tutor(args: argparse.Namespace) -> Tutor:
    """The tutor over the database (--db, else TUTOR_DB), with the shipped decks in it."""
    from bot.concepts.grading import terminal_grader
    from bot.shipped import sync_shipped_decks
    from storage.db import open_db

    settings = _settings()
    tutor = Tutor(open_db(args.db or settings.db_path), default_tz=settings.timezone,
                  grader=terminal_grader(settings))
    if settings.shipped_decks:
        sync_shipped_decks(tutor)
    return tutor


def _load(path: str) -> Any:
    from content.loader import load_deck_file

    try:
        return load_deck_file(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder; give a deck file (.txt, .md, .yaml or .json)") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _now(args: argparse.Namespace) -> datetime:
    text = getattr(args, "now", None)
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--now {text!r} is not an ISO date-time such as 2025-03-30T08:30+02:00") from None
    if moment.tzinfo is None:
        raise UsageError("--now needs a UTC offset, e.g. 2025-03-30T08:30:00+02:00 or ...Z")
    return moment


# deck --------------------------------------------------------------------------------------
def _card_lines(number: int, card: Flashcard | MultipleChoice | Prompt) -> list[str]:
    lines = [f"{number:>3}. [{card.kind.value} {card.id}] {card.prompt_text}"]
    if isinstance(card, Flashcard):
        lines.append(f"     -> {card.back}")
    elif isinstance(card, MultipleChoice):
        for index, option in enumerate(card.options):
            mark = "  (answer)" if index == card.answer else ""
            lines.append(f"     {option_letter(index)}) {option}{mark}")
        if card.answer is None:
            lines.append("     (no answer key)")
    else:
        if card.guidance:
            lines.append(f"     guidance: {card.guidance}")
        lines += [f"     concept {n}: {c.text}" for n, c in enumerate(card.concepts, 1)]
    return lines


def deck_show(args: argparse.Namespace) -> int:
    loaded = _load(args.path)
    deck: Deck = loaded.deck
    if args.json:
        _print_json({**deck.to_dict(), "issues": [i.to_dict() for i in loaded.issues]})
    else:
        print(f"{deck.title} ({deck.slug}), desired retention {deck.desired_retention:g}")
        print(loaded.summary())
        for number, card in enumerate(deck.cards, start=1):
            print("\n".join(_card_lines(number, card)))
    if loaded.errors:
        print(f"note: {len(loaded.errors)} lint error(s); `tutor deck lint {args.path}` lists them",
              file=sys.stderr)
    return 0


def deck_lint(args: argparse.Namespace) -> int:
    from content.lint import LintIssue, Severity

    try:
        loaded = _load(args.path)
    except (DeckFormatError, UsageError) as exc:
        if not args.json:
            raise
        _print_json([LintIssue(Severity.ERROR, None, str(exc)).to_dict()])
        return 1
    if args.json:
        _print_json([i.to_dict() for i in loaded.issues])
    else:
        print(loaded.report(Path(args.path).name))
    return 1 if loaded.errors else 0


def deck_import(args: argparse.Namespace) -> int:
    loaded = _load(args.path)
    name = Path(args.path).name
    if loaded.errors:
        print("\n".join(i.describe(name) for i in loaded.errors), file=sys.stderr)
        print(f"not imported: {len(loaded.errors)} error(s); fix them and import again "
              f"(`tutor deck lint {args.path}` lists warnings too)", file=sys.stderr)
        return 1
    for issue in loaded.warnings:
        print(issue.describe(name), file=sys.stderr)
    result = _tutor(args).import_deck(loaded.deck, source=str(Path(args.path).resolve()))
    if args.json:
        _print_json(result.to_dict())
    else:
        restored = f" ({result.restored} restored)" if result.restored else ""
        print(f"{result.deck}: {result.added} added{restored}, {result.updated} updated, "
              f"{result.retired} retired, {result.unchanged} unchanged")
    return 0


def deck_list(args: argparse.Namespace) -> int:
    decks = _tutor(args).decks()
    if args.json:
        _print_json([d.to_dict() for d in decks])
    elif not decks:
        print("No decks yet. Import one: tutor deck import PATH (a recap .txt or a YAML deck)")
    else:
        for d in decks:
            print(f"{d.slug}: {d.title} ({plural(d.cards, 'card')}, {plural(d.learners, 'learner')}, "
                  f"retention {d.desired_retention:g})")
    return 0



def deck_export(args: argparse.Namespace) -> int:
    from content.export import export_deck

    tutor = _tutor(args)
    deck = tutor.deck(args.deck)
    progress = None
    if args.user is not None:
        if args.format != "apkg":
            raise UsageError("--user adds a member's progress to an Anki package: use it with --format apkg")
        from bot.anki_export import member_progress

        progress = member_progress(tutor, args.user, args.deck)
    out = Path(args.output)
    if args.output.endswith(("/", os.sep)) or (not out.exists() and not out.suffix):
        out.mkdir(parents=True, exist_ok=True)  # a folder that is not there yet: make it
    try:
        path = export_deck(deck, args.format, out, progress=progress)
    except OSError as exc:
        raise UsageError(f"cannot write {out} ({exc.strerror or exc}); choose another -o") from None
    print(path)
    return 0


# review and stats --------------------------------------------------------------------------
def review(args: argparse.Namespace) -> int:
    from bot.cli_review import ReviewSession

    tutor = _tutor(args)
    fixed = _now(args) if args.now else None
    learner = tutor.ensure_learner(args.user, tz=args.tz)
    if args.deck is not None and args.deck not in learner.decks:
        tutor.join(args.user, args.deck)
        print(f"Joined {args.deck}.")
    elif args.deck is None and not learner.decks:
        decks = tutor.decks()
        if not decks:
            raise TutorError("there are no decks yet; import one first: tutor deck import PATH")
        if len(decks) > 1:
            raise TutorError("choose a deck to start with: --deck " + " | ".join(d.slug for d in decks))
        tutor.join(args.user, decks[0].slug)
        print(f"Joined {decks[0].slug}.")
    session = ReviewSession(tutor=tutor, user_id=args.user, deck=args.deck,
                            now=(lambda: fixed) if fixed else (lambda: datetime.now(UTC)),
                            stdin=sys.stdin, stdout=sys.stdout)
    return session.run()


def stats(args: argparse.Namespace) -> int:
    from bot.cli_review import due_when
    from bot.learning_day import zone
    from bot.pattern_tests import last_results

    tutor = _tutor(args)
    now = _now(args)
    learner = tutor.learner(args.user)
    if learner is None:
        raise TutorError(f"{args.user!r} has no reviews yet: start with tutor review --user {args.user}")
    s = tutor.stats(args.user, now)
    day = tutor.learning_day(args.user, now)
    tests = last_results(tutor, args.user)
    if args.json:
        _print_json({**s.to_dict(), "tz": learner.tz, "learning_day": day.isoformat(),
                     "decks": list(learner.decks), "paused": learner.paused,
                     "tests": [t.to_dict() for t in tests]})
        return 0
    retention = "-" if s.retention_30d is None else f"{s.retention_30d:.0%}"
    print(f"{args.user} ({learner.tz}), learning day {day}{' (paused)' if learner.paused else ''}")
    print(f"  decks: {', '.join(learner.decks) or 'none'}")
    print(f"  due now {s.due_now}, due today {s.due_today}, new today {s.new_today}")
    print(f"  reviewed today {s.reviewed_today}, this week {s.reviewed_this_week}")
    print(f"  retention (30 days) {retention}, streak {s.streak} day{'s' * (s.streak != 1)}, "
          f"cards learned {s.cards_learned}")
    if s.next_due is not None:
        print(f"  next due {due_when(s.next_due, learner.tz, now)}")
    if s.memory is not None:
        print(f"  memory model: {s.memory.describe()}")
    for test in tests:
        when = "" if test.finished_at is None else \
            f" on {test.finished_at.astimezone(zone(learner.tz)):%Y-%m-%d}"
        print(f"  test of {test.deck}{when}: {test.summary()}")
    return 0


# serve and finetune ------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.db:
        from dataclasses import replace

        settings = replace(settings, db_path=args.db)
    from bot.slack.serve import serve as run_server

    return run_server(settings, http=args.http, host=args.host, port=args.port)  # until SIGTERM / Ctrl-C


FINETUNE_HELP = "fine-tune a pre-trained vision model on a folder of labelled images (the /finetune demo)"


def _add_finetune(commands: Any, wanted: bool) -> None:
    from bot.extras import finetune_unavailable_message

    unavailable = finetune_unavailable_message()
    if wanted and unavailable is None:
        from bot.finetune.cli import add_arguments, run

        parser = commands.add_parser("finetune", help=FINETUNE_HELP, description=FINETUNE_HELP)
        add_arguments(parser)
        parser.set_defaults(handler=run)
        return
    # Not asked for (so bot.finetune.cli is not even imported), or the extra is not installed.
    # prefix_chars that no argument uses: every word, --help included, lands in `rest`.
    help_text = FINETUNE_HELP if unavailable is None else f"{FINETUNE_HELP}; needs the finetune extra"
    parser = commands.add_parser("finetune", help=help_text, add_help=False, prefix_chars="\x00")
    parser.add_argument("rest", nargs="*", help="the demo's arguments")
    parser.set_defaults(handler=_finetune_missing, unavailable=unavailable)


def _finetune_missing(args: argparse.Namespace) -> int:
    from bot.extras import FINETUNE_INSTALL

    raise UsageError(f"the finetune demo is not installed here ({args.unavailable}); install it with "
                     f"{FINETUNE_INSTALL}")


# parser ------------------------------------------------------------------------------------
REVIEW_KEYS = """keys:
  1-4          answer a multiple-choice question (a, b, c… work too), or grade a flashcard:
               1 Again, 2 Hard, 3 Good, 4 Easy (each shown with the interval it gives)
  Enter        show a flashcard's answer
  u            undo your last answer
  q            quit (so does end of input, Ctrl-D)

Input may be piped: printf '2\\n\\n3\\nq\\n' | tutor review --user ana"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tutor")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tutor", description="A tutor that teaches with spaced repetition.")
    parser.add_argument("--db", help=DB_HELP)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                        help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    deck = commands.add_parser("deck", help="show, lint, import, list and export decks")
    deck_commands = deck.add_subparsers(dest="deck_command", metavar="ACTION", required=True)
    for name, handler, help_text in (("show", deck_show, "parse a deck file and print it (stores nothing)"),
                                     ("lint", deck_lint, "check a deck file; exit 1 on errors"),
                                     ("import", deck_import, "store a deck (refused on lint errors)")):
        sub = deck_commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("path", metavar="PATH",
                         help="a recap page (.txt, .md), a YAML deck or a JSON export")
        sub.add_argument("--json", action="store_true", help="print JSON")
        sub.set_defaults(handler=handler)
    sub = deck_commands.add_parser("list", help="the decks in the database")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.set_defaults(handler=deck_list)
    sub = deck_commands.add_parser("export", help="write a stored deck as YAML, JSON or an Anki package")
    sub.add_argument("deck", metavar="DECK", help="the deck's slug (see `tutor deck list`)")
    sub.add_argument("--format", required=True, choices=("yaml", "json", "apkg"),
                     help="yaml (editable, imports back), json, or apkg (an Anki package)")
    sub.add_argument("-o", "--output", default="exports",
                     help="a file, or a folder for DECK.EXT (default: exports, made if missing)")
    sub.add_argument("--user", help="apkg: carry this member's review history and FSRS memory state")
    sub.set_defaults(handler=deck_export)

    sub = commands.add_parser("review", help="review what is due, in the terminal",
                              description="Review what is due, with the same engine as the Slack DM.",
                              epilog=REVIEW_KEYS, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("--user", required=True, help="your name (any text; the same each time)")
    sub.add_argument("--deck", help="review only this deck (joining it if needed)")
    sub.add_argument("--tz", help="your IANA time zone, e.g. Europe/Berlin (remembered)")
    sub.add_argument("--now", help=argparse.SUPPRESS)  # a fixed moment, for tests and demos
    sub.set_defaults(handler=review)
    cli_test_pattern.add_parser(commands)
    cli_explain.add_parser(commands)

    sub = commands.add_parser("stats", help="a learner's progress")
    sub.add_argument("--user", required=True, help="the learner (the name given to tutor review)")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub.add_argument("--now", help=argparse.SUPPRESS)
    sub.set_defaults(handler=stats)

    sub = commands.add_parser("serve", help="run the Slack app (Socket Mode unless --http)")
    sub.add_argument("--http", action="store_true", help="serve Slack's HTTP requests instead of Socket Mode")
    sub.add_argument("--host", default="0.0.0.0",
                     help="with --http: the address to listen on (default 0.0.0.0, every interface)")
    sub.add_argument("--port", type=int, default=None, help="with --http: the port (default: $PORT or 3000)")
    sub.set_defaults(handler=serve)

    from bot import doctor

    doctor.add_parser(commands)
    cli_optimize.add_parser(commands)
    cli_reviews.add_parser(commands)
    _add_finetune(commands, wanted="finetune" in argv)
    worker_cli.add_parser(commands)
    _accept_db_after_subcommands(parser)
    return parser


def _accept_db_after_subcommands(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand (those other modules add too) its own `--db`, so `tutor deck list --db X`
    works like `tutor --db X deck list`. SUPPRESS as default: an absent one leaves the top-level value."""
    for action in parser._actions:  # argparse keeps subparsers here; there is no public accessor
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for sub in action.choices.values():
            if "-" in sub.prefix_chars and "--db" not in sub._option_string_actions:
                sub.add_argument("--db", default=argparse.SUPPRESS, help=DB_HELP)
            _accept_db_after_subcommands(sub)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:  # bare `tutor`
        parser.print_help()
        return 0
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the try, not at exit
        return code
    except TutorError as exc:
        print(f"tutor: {exc}", file=sys.stderr)
        return 1
    except ServiceError as exc:
        print(f"tutor: {exc}", file=sys.stderr)
        return 1
    except (UsageError, ConfigError, DeckFormatError, DatabaseOpenError) as exc:
        print(f"tutor: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly. Point stdout at /dev/null so the interpreter's
        # final flush does not raise again (Python's documented recipe for SIGPIPE).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by it
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
