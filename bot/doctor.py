"""`tutor doctor`: the checks `tutor serve` makes at start, and a few more, as a checklist.

    settings       every variable parses (bot.config)
    database       TUTOR_DB can be opened (or made: its folder exists), and what is in it
    decks          lint of the shipped decks and of every stored deck
    bot token      auth.test accepts SLACK_BOT_TOKEN
    scope …        one line per scope the features need and the token lacks
    app token      Socket Mode can connect with SLACK_APP_TOKEN (or HTTP mode is configured)
    finetune demo  the `finetune` extra is installed

Nothing is written: a database that does not exist yet is not created. Exit status 0 when no check
failed (warnings allowed), 1 otherwise. `--json` prints the checks as a list of objects.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from bot.config import ConfigError, ServiceError, Settings, load_settings
from content.model import plural


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status.value, "detail": self.detail}


def check_database(path: str) -> Check:
    from storage.db import DatabaseOpenError, open_db

    file = Path(path)
    if path != ":memory:" and not file.exists():
        folder = file.parent
        if not folder.is_dir():
            return Check("database", Status.FAIL, f"the folder {folder} of {path} does not exist; create it "
                         "(mkdir -p) or fix TUTOR_DB / --db")
        if not os.access(folder, os.W_OK):
            return Check("database", Status.FAIL, f"{path} does not exist and {folder} is not writable")
        return Check("database", Status.OK, f"{path} does not exist yet; the first start creates it")
    try:
        db = open_db(path, migrate=False)
    except DatabaseOpenError as exc:
        return Check("database", Status.FAIL, str(exc))
    try:
        tables = set(db.table_names())
        if "decks" not in tables:
            return Check("database", Status.OK, f"{path} has no tutor tables yet; the first start adds them")
        decks = db.conn.execute("SELECT count(*) FROM decks").fetchone()[0]
        learners = db.conn.execute("SELECT count(*) FROM learners").fetchone()[0]
        contents = f"{plural(decks, 'deck')}, {plural(learners, 'learner')}"
        return Check("database", Status.OK, f"{path}: {contents}")
    finally:
        db.conn.close()


def check_decks(settings: Settings) -> list[Check]:
    """Lint each shipped deck file, then each stored deck (read without changing anything)."""
    from content.lint import Severity, lint_deck
    from content.loader import load_deck_file, shipped_decks

    found = []
    for path in shipped_decks():
        try:
            loaded = load_deck_file(path)
        except (OSError, ValueError) as exc:
            found.append(Check(f"deck {path.name}", Status.FAIL, f"cannot be read: {exc}"))
            continue
        status = Status.FAIL if loaded.errors else Status.WARN if loaded.warnings else Status.OK
        found.append(Check(f"shipped {loaded.deck.slug}", status, loaded.summary().split(": ", 1)[1]))
    stored = _stored_decks(settings.db_path)
    for deck in stored:
        issues = lint_deck(deck)
        errors = sum(1 for i in issues if i.severity is Severity.ERROR)
        warnings = len(issues) - errors
        status = Status.FAIL if errors else Status.WARN if warnings else Status.OK
        found.append(Check(f"deck {deck.slug}", status,
                           f"{plural(len(deck.cards), 'card')} stored; {plural(errors, 'error')}, "
                           f"{plural(warnings, 'warning')}"))
    return found


def _stored_decks(path: str) -> list[Any]:
    from bot.tutor import Tutor
    from storage.db import DatabaseOpenError, open_db

    if path == ":memory:" or not Path(path).is_file():
        return []
    try:
        db = open_db(path, migrate=False)
    except DatabaseOpenError:
        return []  # check_database says why
    try:
        if "decks" not in db.table_names():
            return []
        tutor = Tutor(db)
        return [tutor.deck(d.slug) for d in tutor.decks()]
    finally:
        db.conn.close()


def check_slack(settings: Settings) -> list[Check]:
    from bot.slack.client import make_client
    from bot.slack.preflight import SCOPES, check_app_token, check_bot_token

    if not settings.slack_bot_token:
        return [Check("bot token", Status.FAIL, "SLACK_BOT_TOKEN is not set (the Bot User OAuth Token, "
                      "xoxb-…; tutor serve needs it)")]
    client = make_client(settings, quiet=True)
    try:
        identity = check_bot_token(client, settings.slack_api_url)
    except ServiceError as exc:
        return [Check("bot token", Status.FAIL, str(exc))]
    found = [Check("bot token", Status.OK, f"accepted: {identity.user_id} in {identity.team}")]
    if identity.scopes is None:
        found.append(Check("scopes", Status.WARN, "Slack did not say which scopes the token has"))
    else:
        found += [Check(f"scope {scope}", Status.FAIL, f"missing: needed for {SCOPES[scope]}; add it under "
                        "OAuth & Permissions (or paste manifest.yml again) and reinstall the app")
                  for scope in identity.missing_scopes()]
        if not identity.missing_scopes():
            found.append(Check("scopes", Status.OK, f"all {len(SCOPES)} the features need are granted"))
    if settings.slack_app_token:
        try:
            check_app_token(client, settings.slack_app_token, settings.slack_api_url)
        except ServiceError as exc:
            found.append(Check("app token", Status.FAIL, str(exc)))
        else:
            found.append(Check("app token", Status.OK, "Socket Mode can connect"))
    elif settings.slack_signing_secret:
        found.append(Check("app token", Status.SKIP, "SLACK_APP_TOKEN is not set: only `tutor serve --http` "
                           "works (SLACK_SIGNING_SECRET is set)"))
    else:
        found.append(Check("app token", Status.FAIL, "neither SLACK_APP_TOKEN (Socket Mode) nor "
                           "SLACK_SIGNING_SECRET (tutor serve --http) is set"))
    return found


def check_finetune() -> Check:
    from importlib.metadata import PackageNotFoundError, version

    from bot.extras import FINETUNE_INSTALL, FINETUNE_MODULES, finetune_unavailable_message

    unavailable = finetune_unavailable_message()
    if unavailable is not None:
        return Check("finetune demo", Status.WARN, f"not installed ({unavailable}); /finetune says how to "
                     f"enable it: {FINETUNE_INSTALL}")
    versions = []
    for requirement in FINETUNE_MODULES[:3]:
        try:
            versions.append(f"{requirement.distribution} {version(requirement.distribution)}")
        except PackageNotFoundError:
            versions.append(requirement.distribution)
    return Check("finetune demo", Status.OK, "installed: " + ", ".join(versions))


def run_checks(db_override: str | None) -> list[Check]:
    try:
        settings = load_settings()
    except ConfigError as exc:
        return [Check("settings", Status.FAIL, str(exc)), check_finetune()]
    if db_override:
        from dataclasses import replace

        settings = replace(settings, db_path=db_override)
    checks = [Check("settings", Status.OK, f"TUTOR_DB={settings.db_path}, TUTOR_TZ={settings.timezone}, "
                    f"{plural(len(settings.admins), 'admin')} in TUTOR_ADMINS")]
    steps: list[Callable[[], Check | list[Check]]] = [
        lambda: check_database(settings.db_path), lambda: check_decks(settings),
        lambda: check_slack(settings), check_finetune]
    for step in steps:
        result = step()
        checks += result if isinstance(result, list) else [result]
    return checks


MARKS = {Status.OK: "ok  ", Status.WARN: "warn", Status.FAIL: "FAIL", Status.SKIP: "skip"}


def doctor(args: argparse.Namespace) -> int:
    checks = run_checks(args.db)
    if args.json:
        print(json.dumps([c.to_dict() for c in checks], indent=2, ensure_ascii=False))
    else:
        width = max(len(c.name) for c in checks)
        for check in checks:
            print(f"{MARKS[check.status]}  {check.name:<{width}}  {check.detail}")
        failed = sum(1 for c in checks if c.status is Status.FAIL)
        print(f"{plural(failed, 'problem')} found." if failed else "All checks passed.")
    return 1 if any(c.status is Status.FAIL for c in checks) else 0


def add_parser(commands: Any) -> None:
    help_text = "check the setup: settings, database, decks, Slack token and scopes, the demo"
    parser = commands.add_parser("doctor", help=help_text, description=help_text)
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(handler=doctor)
