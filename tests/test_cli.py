"""The `tutor` command, run in-process through main(argv) and, where the process matters, as a subprocess."""

import io
import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest
from tutor_helpers import REPO, make_deck

from bot.cli import main
from content.export import export_deck
from content.loader import shipped_decks

RECAP = REPO / "tests" / "data" / "recaps" / "pretrained-models-cv.txt"  # the real recap, as scraped
SHIPPED = REPO / "content" / "decks" / "pretrained-models-cv.yaml"
MONDAY_BERLIN = "2025-03-03T08:30:00+01:00"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No Slack or tutor settings from the developer's shell, and no shipped deck: these tests build
    their own decks (tests/test_cli_first_day.py covers the shipped one)."""
    for name in ("TUTOR_DB", "TUTOR_TZ", "TUTOR_ADMINS", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
                 "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUTOR_SHIPPED_DECKS", "0")
    monkeypatch.chdir(tmp_path)


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_deck_show_json_on_the_real_recap(capsys, tmp_path):
    code, out, err = run(capsys, "deck", "show", str(RECAP), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["title"] == "Why pre-trained models save time in Computer Vision"
    kinds = [c["kind"] for c in data["cards"]]
    assert kinds.count("flashcard") == 5 and kinds.count("mcq") == 10 and kinds.count("prompt") == 2
    for card in data["cards"]:
        assert card["id"].startswith({"flashcard": "fc-", "mcq": "mcq-", "prompt": "op-"}[card["kind"]])
        if card["kind"] == "flashcard":
            assert card["front"] and card["back"]
        elif card["kind"] == "mcq":
            assert isinstance(card["options"], list) and all(isinstance(o, str) for o in card["options"])
            assert card["answer"] is None or 0 <= card["answer"] < len(card["options"])
        else:
            assert card["question"]
    mcqs = [c for c in data["cards"] if c["kind"] == "mcq"]
    assert sum(c["answer"] is None for c in mcqs) == 5  # the quiz gives no key
    transfer = next(c for c in mcqs if c["question"].startswith("Which term describes"))
    assert transfer["options"][0] == "Transfer learning"
    assert not (tmp_path / "tutor.db").exists()  # show stores nothing


def test_lint_exit_code_and_json(capsys):
    code, out, _ = run(capsys, "deck", "lint", str(RECAP), "--json")
    assert code == 1
    issues = json.loads(out)
    assert {"severity", "line", "message"} <= set(issues[0])
    assert sum(i["severity"] == "error" for i in issues) == 5
    assert all(isinstance(i["line"], int) for i in issues)
    code, out, _ = run(capsys, "deck", "lint", str(SHIPPED))
    assert code == 0 and "0 errors" in out


def test_lint_of_something_that_is_not_a_deck(capsys, tmp_path):
    junk = tmp_path / "photo.yaml"
    junk.write_bytes(b"\x89PNG\x00\x00binary")
    code, out, _ = run(capsys, "deck", "lint", str(junk), "--json")
    assert code == 1 and json.loads(out)[0]["severity"] == "error"
    code, _, err = run(capsys, "deck", "lint", str(tmp_path / "missing.yaml"))
    assert code == 2 and "no such file" in err and "Traceback" not in err


def test_import_refuses_a_deck_with_errors_and_stores_nothing(capsys, tmp_path):
    db = str(tmp_path / "t.db")
    code, out, err = run(capsys, "--db", db, "deck", "import", str(RECAP))
    assert code == 1 and "no answer key" in err and "not imported" in err
    code, out, _ = run(capsys, "--db", db, "deck", "list", "--json")
    assert code == 0 and json.loads(out) == []


def test_import_list_reimport_and_export_the_shipped_deck(capsys, tmp_path):
    assert SHIPPED in shipped_decks()
    db = str(tmp_path / "t.db")
    code, out, _ = run(capsys, "--db", db, "deck", "import", str(SHIPPED))
    assert code == 0 and out.strip() == "pretrained-models-cv: 17 added, 0 updated, 0 retired, 0 unchanged"
    code, out, _ = run(capsys, "--db", db, "deck", "import", str(SHIPPED), "--json")
    assert json.loads(out) == {"deck": "pretrained-models-cv", "added": 0, "updated": 0, "retired": 0,
                               "unchanged": 17, "restored": 0}
    code, out, _ = run(capsys, "--db", db, "deck", "list", "--json")
    [deck] = json.loads(out)
    assert (deck["slug"], deck["cards"], deck["desired_retention"]) == ("pretrained-models-cv", 17, 0.9)
    (tmp_path / "out").mkdir()
    for fmt in ("yaml", "json", "apkg"):
        code, out, _ = run(capsys, "--db", db, "deck", "export", "pretrained-models-cv", "--format", fmt,
                           "-o", str(tmp_path / "out"))
        assert code == 0 and out.strip() == str(tmp_path / "out" / f"pretrained-models-cv.{fmt}")
    code, out, _ = run(capsys, "--db", db, "deck", "export", "pretrained-models-cv", "--format", "json",
                       "-o", str(tmp_path / "named.json"))
    assert code == 0 and (tmp_path / "named.json").exists()
    exported = json.loads((tmp_path / "out" / "pretrained-models-cv.json").read_text())
    assert len(exported["cards"]) == 17
    assert (tmp_path / "out" / "pretrained-models-cv.apkg").stat().st_size > 0
    # The YAML export imports back as the same deck: nothing changes.
    yaml_export = str(tmp_path / "out" / "pretrained-models-cv.yaml")
    code, out, _ = run(capsys, "--db", db, "deck", "import", yaml_export)
    assert code == 0 and "17 unchanged" in out
    code, _, err = run(capsys, "--db", db, "deck", "export", "nope", "--format", "yaml")
    assert code == 1 and "no deck 'nope'" in err


def mixed_deck_file(tmp_path) -> str:
    """A YAML deck whose first new cards are a multiple-choice question then a flashcard."""
    deck = make_deck("mixed", flashcards=2, mcqs=2, prompts=1)
    cards = (deck.cards[2], deck.cards[0], deck.cards[3], deck.cards[1], deck.cards[4])
    path = export_deck(replace(deck, title="Mixed", cards=cards), "yaml", tmp_path / "mixed.yaml")
    return str(path)


def test_review_in_the_terminal_driven_by_stdin(capsys, monkeypatch, tmp_path):
    db = str(tmp_path / "t.db")
    assert run(capsys, "--db", db, "deck", "import", mixed_deck_file(tmp_path))[0] == 0
    # MCQ: wrong (2); flashcard: Enter, grade Good (3); MCQ: right (1); undo; answer it again wrong
    # by letter (b); then quit.
    code, out, err = run(capsys, "--db", db, "review", "--user", "ana", "--tz", "Europe/Berlin",
                         "--now", MONDAY_BERLIN, stdin="2\n\n3\n1\nu\nb\nq\n", monkeypatch=monkeypatch)
    assert code == 0, err
    assert "Joined mixed." in out and "4 cards to review" in out
    assert "Not quite. The answer is 1) right 0" in out
    assert "Solution: because" in out and "Hint: think" in out and "- mistake 0" in out
    assert "1) Again (1 day)" in out and "3) Good (2 days)" in out and "Graded Good." in out
    assert "✓ Right!" in out and "Undone: your answer to" in out
    assert "Not quite. The answer is 1) right 1" in out
    assert "Reviewed 3 cards, 1 right. Streak: 1 day." in out
    assert "Still due today: 1 card; run tutor review again to go on." in out  # the flashcard not reached
    assert "Next due" not in out

    code, out, _ = run(capsys, "--db", db, "stats", "--user", "ana", "--json", "--now", MONDAY_BERLIN)
    stats = json.loads(out)
    assert code == 0
    assert (stats["reviewed_today"], stats["cards_learned"], stats["streak"]) == (3, 3, 1)
    assert stats["new_today"] == 1
    assert (stats["tz"], stats["learning_day"], stats["decks"]) == ("Europe/Berlin", "2025-03-03", ["mixed"])
    assert stats["next_due"] == "2025-03-04T03:00:00+00:00"  # 04:00 in Berlin starts the learning day
    code, out, _ = run(capsys, "--db", db, "stats", "--user", "ana", "--now", MONDAY_BERLIN)
    assert code == 0 and "reviewed today 3" in out and "streak 1 day" in out


def test_review_when_nothing_is_due_and_at_end_of_input(capsys, monkeypatch, tmp_path):
    db = str(tmp_path / "t.db")
    run(capsys, "--db", db, "deck", "import", mixed_deck_file(tmp_path))
    code, out, _ = run(capsys, "--db", db, "review", "--user", "ben", "--now", MONDAY_BERLIN, stdin="",
                       monkeypatch=monkeypatch)
    assert code == 0 and "Reviewed 0 cards" in out
    code, out, _ = run(capsys, "--db", db, "review", "--user", "ben", "--deck", "mixed", "--now",
                       "2025-03-03T09:00:00+00:00", stdin="9\n1\n\n4\n1\n\n1\n1\n", monkeypatch=monkeypatch)
    assert "Type a number from 1 to 4" in out and "Reviewed 4 cards" in out
    code, out, _ = run(capsys, "--db", db, "review", "--user", "ben", "--now", "2025-03-03T10:00:00+00:00",
                       stdin="", monkeypatch=monkeypatch)
    assert "Nothing is due right now." in out


def test_user_errors_are_one_line_on_stderr(capsys, monkeypatch, tmp_path):
    db = str(tmp_path / "t.db")
    code, _, err = run(capsys, "--db", db, "stats", "--user", "nobody")
    assert code == 1 and err.startswith("tutor: ") and "Traceback" not in err
    code, _, err = run(capsys, "--db", db, "review", "--user", "ana", stdin="", monkeypatch=monkeypatch)
    assert code == 1 and "no decks yet" in err
    run(capsys, "--db", db, "deck", "import", str(SHIPPED))
    code, _, err = run(capsys, "--db", db, "review", "--user", "ana", "--tz", "Moon/Base", stdin="",
                       monkeypatch=monkeypatch)
    assert code == 1 and "not a time zone" in err
    code, _, err = run(capsys, "--db", db, "review", "--user", "ana", "--now", "yesterday", stdin="",
                       monkeypatch=monkeypatch)
    assert code == 2 and "ISO" in err
    monkeypatch.setenv("TUTOR_TZ", "Not/AZone")
    code, _, err = run(capsys, "--db", db, "deck", "list")
    assert code == 2 and "TUTOR_TZ" in err


def test_tutor_db_comes_from_the_environment(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TUTOR_DB", str(tmp_path / "env.db"))
    assert run(capsys, "deck", "import", str(SHIPPED))[0] == 0
    assert (tmp_path / "env.db").exists()


def test_python_m_bot_runs_without_importing_torch(tmp_path):
    db = str(tmp_path / "t.db")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TUTOR_DB", None)
    check = ("import sys, runpy; sys.argv = ['tutor', '--db', sys.argv[1], 'deck', 'import', sys.argv[2]];"
             "from bot.cli import main; code = main(sys.argv[1:]);"
             "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", check, db, str(SHIPPED)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "bot", "--db", db, "deck", "list"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0 and "pretrained-models-cv" in done.stdout
    done = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0
    assert all(w in done.stdout for w in ("deck", "review", "stats", "serve", "finetune"))


def test_serve_without_slack_settings_says_what_is_missing(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TUTOR_"))}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-m", "bot", "--db", str(tmp_path / "t.db"), "serve"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "SLACK_" in done.stderr or "missing from this installation" in done.stderr


def test_finetune_is_delegated_to_the_demo_when_installed(capsys):
    try:
        import bot.finetune.cli  # noqa: F401
    except ModuleNotFoundError:
        code, _, err = run(capsys, "finetune", "--help")
        assert code == 2 and "missing from this installation" in err
        return
    with pytest.raises(SystemExit) as exited:
        main(["finetune", "--help"])
    assert exited.value.code == 0 and "usage: tutor finetune" in capsys.readouterr().out


def test_worker_without_a_broker_says_what_to_set(capsys, monkeypatch):
    monkeypatch.delenv("TUTOR_BROKER_URL", raising=False)
    code, _, err = run(capsys, "worker")
    assert code == 2
    assert err.startswith("tutor worker: set TUTOR_BROKER_URL (e.g. redis://localhost:6379/0) or pass "
                          "--broker")
    monkeypatch.setenv("TUTOR_BROKER_URL", "http://not-redis")
    code, _, err = run(capsys, "worker", "--lane", "short")
    assert code == 2 and "TUTOR_BROKER_URL='http://not-redis' must be a Redis URL" in err
