"""Every error a newcomer met on the first day, through the real `tutor` command in a subprocess: one
line on stderr naming the problem and the fix, a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from slack_standin import SlackStandin
from tutor_process import free_port, tutor_command, tutor_env
from tutor_process import run_tutor as run

from content.export import export_deck
from content.model import Deck, Flashcard


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single line on stderr (asserting there is exactly one and no traceback)."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def slack():
    with SlackStandin() as standin:
        yield standin


def serve_env(slack: SlackStandin, tmp_path: Path, **extra: str) -> dict[str, str]:
    settings = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": "secret",
                "SLACK_API_URL": slack.api_url, "TUTOR_DB": str(tmp_path / "t.db")}
    return tutor_env(**{**settings, **extra})


def test_a_wrong_bot_token(slack, tmp_path) -> None:
    done = run("serve", "--http", env=serve_env(slack, tmp_path, SLACK_BOT_TOKEN="xoxb-pasted-wrong"))
    assert done.returncode == 1
    assert one_line(done) == ("tutor: Slack refused SLACK_BOT_TOKEN (invalid_auth); copy the Bot User OAuth "
                              "Token (xoxb-…) from your app's OAuth & Permissions page again")


def test_a_revoked_bot_token(slack, tmp_path) -> None:
    slack.revoke()
    done = run("serve", env=serve_env(slack, tmp_path, SLACK_APP_TOKEN=slack.app_token))
    assert done.returncode == 1
    assert one_line(done).startswith("tutor: SLACK_BOT_TOKEN no longer works (token_revoked); reinstall "
                                     "the app")


def test_slack_unreachable(tmp_path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/"
    env = tutor_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", SLACK_API_URL=url,
                    TUTOR_DB=str(tmp_path / "t.db"))
    done = run("serve", "--http", env=env)
    assert done.returncode == 1
    assert one_line(done) == (f"tutor: cannot reach Slack at {url} ([Errno 111] Connection refused); check "
                              "the network connection, a proxy (HTTPS_PROXY) or SLACK_API_URL")


def test_a_port_in_use(slack, tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("serve", "--http", "--host", "127.0.0.1", "--port", str(port),
                   env=serve_env(slack, tmp_path, TUTOR_LOG_LEVEL="WARNING"))  # no start-up lines
    assert done.returncode == 1
    assert one_line(done) == (f"tutor: cannot listen on 127.0.0.1:{port} (Address already in use); stop what "
                              "uses the port or choose another with --port / PORT (and --host)")


def test_missing_slack_settings_are_named_together(tmp_path) -> None:
    done = run("serve", env=tutor_env(TUTOR_DB=str(tmp_path / "t.db")))
    assert done.returncode == 2
    line = one_line(done)
    assert "SLACK_BOT_TOKEN" in line and "SLACK_APP_TOKEN" in line


@pytest.mark.parametrize("where, expected", [
    ("missing/t.db", "the folder {tmp}/missing of the database {tmp}/missing/t.db does not exist; create it "
                     "(mkdir -p {tmp}/missing) or fix TUTOR_DB / --db"),
    ("", "the database {tmp} is a folder; name a file in it, such as {tmp}/tutor.db (TUTOR_DB or --db)"),
    ("notes.txt/t.db", "{tmp}/notes.txt is a file, so the database {tmp}/notes.txt/t.db cannot be made in "
                       "it; fix TUTOR_DB / --db"),
    ("notes.txt", "{tmp}/notes.txt is not a SQLite database; point TUTOR_DB or --db at the tutor's database "
                  "or at a new file name"),
])
def test_a_database_that_cannot_be_opened(tmp_path, where, expected) -> None:
    (tmp_path / "notes.txt").write_text("not a database\n")
    path = str(tmp_path / where) if where else str(tmp_path)
    for args, env in ((["deck", "list"], tutor_env(TUTOR_DB=path)),
                      (["deck", "list", "--db", path], tutor_env())):
        done = run(*args, env=env)
        assert done.returncode == 2
        assert one_line(done) == "tutor: " + expected.format(tmp=tmp_path)
    assert not (tmp_path / "missing").exists()  # a typo makes no new folder and no empty database


def test_serve_with_a_database_it_cannot_open(slack, tmp_path) -> None:
    done = run("serve", "--http", env=serve_env(slack, tmp_path, TUTOR_DB=str(tmp_path / "typo" / "t.db")))
    assert done.returncode == 2
    assert one_line(done).startswith(f"tutor: the folder {tmp_path}/typo of the database")


def test_a_folder_sqlite_cannot_write_in(tmp_path) -> None:
    # /proc exists and no one, root included, may create a file in it.
    done = run("deck", "list", env=tutor_env(TUTOR_DB="/proc/tutor.db"))
    assert done.returncode == 2
    assert one_line(done) == ("tutor: cannot open the database /proc/tutor.db (unable to open database "
                              "file); check that this user may read and write the file and its folder "
                              "(TUTOR_DB or --db)")


def test_output_cut_short_by_head_ends_quietly(tmp_path) -> None:
    big = Deck(slug="big", title="Big", cards=tuple(
        Flashcard(front=f"Question {i} " + "about transfer learning " * 4, back=f"Answer {i}")
        for i in range(3000)))
    path = export_deck(big, "yaml", tmp_path / "big.yaml")
    process = subprocess.Popen([*tutor_command(), "deck", "show", str(path)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=tutor_env(TUTOR_DB=str(tmp_path / "t.db")))
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()  # what `| head -1` reads before it exits
    process.stdout.close()
    stderr = process.stderr.read().decode()
    code = process.wait(60)
    assert first.startswith(b"Big (big)")
    assert code == 141 and stderr == ""  # no BrokenPipeError, no "Exception ignored" at exit

