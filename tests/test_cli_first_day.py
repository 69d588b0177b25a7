"""What a newcomer meets on the first day with the `tutor` command: the shipped deck already there (and
kept up to date without losing history), --version, bare help, --db after the subcommand, help text
for every option, the review keys, exports, the summary after quitting, wrapped card text, and
`tutor doctor` against the Slack stand-in."""

from __future__ import annotations

import argparse
import io
import json
import stat
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_socket import SocketModeServer
from slack_standin import SlackStandin
from tutor_helpers import REPO, make_tutor

from bot.cli import build_parser, main
from bot.shipped import SOURCE_PREFIX, SyncAction, sync_shipped_decks
from bot.tutor import Rating
from content.export import export_deck
from content.loader import load_deck_file
from content.model import Flashcard, MultipleChoice

SHIPPED = REPO / "content" / "decks" / "pretrained-models-cv.yaml"
MONDAY = "2025-03-03T08:30:00+00:00"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("TUTOR_DB", "TUTOR_TZ", "TUTOR_ADMINS", "TUTOR_SHIPPED_DECKS", "SLACK_BOT_TOKEN",
                 "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_shipped_deck_is_there_from_the_first_command(capsys, monkeypatch) -> None:
    code, out, _ = run(capsys, "deck", "list")
    assert code == 0
    assert out == ("pretrained-models-cv: Why pre-trained models save time in Computer Vision (17 cards, "
                   "0 learners, retention 0.9)\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO("q\n"))
    code, out, _ = run(capsys, "review", "--user", "ana", "--now", MONDAY)
    assert code == 0 and "Joined pretrained-models-cv." in out and "5 cards to review" in out
    code, out, _ = run(capsys, "deck", "list")
    assert "(17 cards, 1 learner, " in out  # one learner, not "1 learners"


def test_an_updated_shipped_deck_keeps_the_history_and_an_admins_deck_is_kept(tmp_path) -> None:
    tutor = make_tutor(tmp_path / "t.db")
    [first] = sync_shipped_decks(tutor)
    assert (first.action, first.result.added) == (SyncAction.IMPORTED, 17)
    assert sync_shipped_decks(tutor)[0].action is SyncAction.UNCHANGED
    now = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)
    tutor.join("ana", "pretrained-models-cv")
    item = tutor.due_cards("ana", now)[0]
    tutor.grade("ana", item.deck, item.card.id, Rating.GOOD, seq=item.seq, now=now)
    # A new release: one question reworded, one hint edited.
    deck = load_deck_file(SHIPPED).deck
    cards = list(deck.cards)
    mcq = next(i for i, c in enumerate(cards) if isinstance(c, MultipleChoice))
    cards[mcq] = replace(cards[mcq], hint="A better hint")
    cards[1] = Flashcard(front="A reworded question?", back="An answer")
    release = tmp_path / "release" / SHIPPED.name
    release.parent.mkdir()
    export_deck(replace(deck, cards=tuple(cards)), "yaml", release)
    [update] = sync_shipped_decks(tutor, [release])
    assert update.action is SyncAction.UPDATED
    assert (update.result.added, update.result.updated, update.result.retired) == (1, 1, 1)
    assert tutor.next_seq("ana", item.deck, item.card.id) == 2  # the review history is kept
    # An admin imports their own deck of that name: the shipped one no longer overwrites it.
    tutor.import_deck(replace(deck, title="Our own version"), source="slack")
    assert sync_shipped_decks(tutor)[0].action is SyncAction.KEPT
    assert tutor.deck("pretrained-models-cv").title == "Our own version"


def test_a_shipped_deck_imported_by_path_counts_as_shipped(tmp_path) -> None:
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(load_deck_file(SHIPPED).deck, source=str(SHIPPED))  # the README's old first step
    assert sync_shipped_decks(tutor)[0].action is SyncAction.UNCHANGED
    assert SOURCE_PREFIX == "shipped:"


def test_shipped_decks_can_be_turned_off(capsys, monkeypatch) -> None:
    monkeypatch.setenv("TUTOR_SHIPPED_DECKS", "0")
    assert run(capsys, "deck", "list")[1].startswith("No decks yet.")
    monkeypatch.setenv("TUTOR_SHIPPED_DECKS", "maybe")
    code, _, err = run(capsys, "deck", "list")
    assert code == 2 and "TUTOR_SHIPPED_DECKS" in err


def test_version_bare_help_and_db_after_the_subcommand(capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == "tutor 0.1.0"
    code, out, _ = run(capsys)
    assert code == 0 and out.startswith("usage: tutor") and "doctor" in out and "deck" in out
    db = str(tmp_path / "other.db")
    assert run(capsys, "deck", "list", "--db", db)[0] == 0
    assert run(capsys, "stats", "--user", "nobody", "--db", db)[0] == 1
    assert (tmp_path / "other.db").exists() and not (tmp_path / "tutor.db").exists()


def _options(parser: argparse.ArgumentParser, where: str = "tutor"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, f"{where} {name}")
        elif action.option_strings or action.dest != "help":
            yield where, action


def test_every_option_has_help_text() -> None:
    missing = [f"{where} {'/'.join(a.option_strings) or a.dest}"
               for where, a in _options(build_parser(["finetune"]))
               if not a.help and a.help != argparse.SUPPRESS]
    assert missing == []


def test_review_help_lists_the_keys(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["review", "--help"])
    out = capsys.readouterr().out
    assert "1 Again, 2 Hard, 3 Good, 4 Easy" in out and "Enter" in out
    assert "u            undo your last answer" in out and "q            quit" in out


def test_exports_go_to_a_folder_readable_like_other_files(capsys, tmp_path) -> None:
    code, out, _ = run(capsys, "deck", "export", "pretrained-models-cv", "--format", "yaml")
    path = Path(out.strip())
    assert code == 0 and path == Path("exports") / "pretrained-models-cv.yaml" and path.is_file()
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)  # not 0600
    code, out, _ = run(capsys, "deck", "export", "pretrained-models-cv", "--format", "json", "-o", "new/")
    assert code == 0 and Path(out.strip()) == Path("new") / "pretrained-models-cv.json"


def test_review_text_wraps_at_word_boundaries(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    monkeypatch.setattr(sys, "stdin", io.StringIO("\nq\n"))
    code, out, _ = run(capsys, "review", "--user", "ana", "--now", MONDAY)
    assert code == 0
    assert all(len(line) <= 49 for line in out.splitlines())
    assert "Answer: A pre-trained model is a model that has\n        already been trained" in out


def test_doctor_checks_against_slack(capsys, monkeypatch, tmp_path) -> None:
    with SlackStandin() as slack, SocketModeServer(slack):
        for name, value in (("SLACK_BOT_TOKEN", slack.bot_token), ("SLACK_APP_TOKEN", slack.app_token),
                            ("SLACK_API_URL", slack.api_url)):
            monkeypatch.setenv(name, value)
        code, out, _ = run(capsys, "doctor")
        assert code == 0, out
        assert out.splitlines()[-1] == "All checks passed."
        assert "tutor.db does not exist yet; the first start creates it" in out
        assert not (tmp_path / "tutor.db").exists()  # the doctor writes nothing
        slack.scopes.discard("files:read")
        code, out, _ = run(capsys, "doctor", "--json")
        checks = {c["check"]: c for c in json.loads(out)}
        assert code == 1
        assert checks["scope files:read"]["status"] == "fail"
        assert "downloading shared decks" in checks["scope files:read"]["detail"]
        assert checks["app token"]["status"] == "ok" and checks["bot token"]["status"] == "ok"
        assert checks["shipped pretrained-models-cv"]["status"] == "ok"
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong")
        code, out, _ = run(capsys, "doctor")
        assert code == 1 and "FAIL  bot token" in out
        assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in out


def test_doctor_names_a_broken_database(capsys, tmp_path) -> None:
    (tmp_path / "notes.db").write_text("not a database")
    code, out, _ = run(capsys, "doctor", "--db", str(tmp_path / "notes.db"), "--json")
    checks = {c["check"]: c for c in json.loads(out)}
    assert code == 1 and checks["database"]["status"] == "fail"
    assert "is not a SQLite database" in checks["database"]["detail"]
