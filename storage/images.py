"""All SQL for /finetune: images recorded from channels, history scans, demo runs and the images
classified in a demo's thread (tables in storage/schema_images.py).

Every write is idempotent where Slack may deliver the same thing twice: an image is keyed on
(channel, file id), a classification too, and a run on (channel, thread ts). Times passed in are
timezone-aware datetimes and are stored as UTC ISO strings.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlite_utils

from storage.db import transaction


class ImageSource(StrEnum):
    EVENT = "event"  # seen in a message event as it was posted
    HISTORY = "history"  # found by reading the channel's history


# thread_ts of a run recorded before its progress message is posted (the message carries the run's
# id, so the run comes first); replaced by the message's ts once Slack answers.
UNPOSTED = "unposted:"


class RunStatus(StrEnum):
    RUNNING = "running"  # queued or running; a restart of the bot turns it into FAILED
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class RecordedImage:
    """One image file posted in a channel. `size` in bytes as Slack reported it (None if unknown)."""

    channel: str
    file_id: str
    ts: str
    name: str
    label: str | None
    user_id: str | None = None
    thread_ts: str | None = None
    mimetype: str | None = None
    size: int | None = None
    url: str | None = None
    source: ImageSource = ImageSource.EVENT

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "source": self.source.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordedImage:
        size = data.get("size")
        return cls(channel=str(data["channel"]), file_id=str(data["file_id"]), ts=str(data["ts"]),
                   name=str(data["name"]), label=data.get("label"), user_id=data.get("user_id"),
                   thread_ts=data.get("thread_ts"), mimetype=data.get("mimetype"),
                   size=int(size) if size is not None else None, url=data.get("url"),
                   source=ImageSource(data.get("source") or ImageSource.EVENT))


@dataclass(frozen=True)
class HistoryScan:
    """A bounded read of a channel's history: how many messages, how many new images recorded, and
    whether it stopped at its limit before reaching the channel's first message."""

    channel: str
    scanned_at: datetime  # UTC
    messages: int
    images: int
    truncated: bool


@dataclass(frozen=True)
class DemoRun:
    """One /finetune demo: its progress message (`thread_ts`) holds the results in its thread."""

    id: int
    channel: str
    thread_ts: str
    user_id: str | None
    labels: tuple[str, ...] | None  # the labels asked for; None for every label
    status: RunStatus
    head_path: str | None  # where runs before the head was kept in the database saved it
    report: dict[str, Any] | None  # FinetuneReport.to_dict()
    error: str | None
    created_at: datetime  # UTC
    finished_at: datetime | None  # UTC
    question_deck: str | None = None  # the deck question shown in the thread: deck slug…
    question_card: str | None = None  # …and card id
    owner: str | None = None  # which bot process runs it ("host:pid:start")

    @property
    def posted(self) -> bool:
        """Whether the ts of the progress message is known (False: not posted, or killed meanwhile)."""
        return not self.thread_ts.startswith(UNPOSTED)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "labels": list(self.labels) if self.labels is not None else None,
                "status": self.status.value, "created_at": self.created_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None}


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("expected a timezone-aware datetime")
    return moment.astimezone(UTC).isoformat()


_IMAGE_COLUMNS = ("channel", "file_id", "ts", "thread_ts", "user_id", "name", "mimetype", "size", "url",
                  "label", "source")


def record_images(db: sqlite_utils.Database, images: Iterable[RecordedImage], *, now: datetime) -> int:
    """Record images; one already recorded for its (channel, file id) is left as it is (a retried
    event changes nothing). Returns how many were new."""
    rows = [tuple(getattr(image, c) for c in _IMAGE_COLUMNS) + (_utc(now),) for image in images]
    if not rows:
        return 0
    placeholders = ", ".join("?" for _ in range(len(_IMAGE_COLUMNS) + 1))
    new = 0
    with transaction(db) as conn:
        for row in rows:
            cursor = conn.execute(
                f"INSERT OR IGNORE INTO finetune_images ({', '.join(_IMAGE_COLUMNS)}, recorded_at) "
                f"VALUES ({placeholders})", row)
            new += cursor.rowcount
    return new


def _image(row: tuple) -> RecordedImage:
    return RecordedImage.from_dict(dict(zip(_IMAGE_COLUMNS, row, strict=True)))


def channel_images(db: sqlite_utils.Database, channel: str, *, labels: Sequence[str] | None = None,
                   labelled_only: bool = True) -> list[RecordedImage]:
    """The images recorded for `channel`, oldest first; only those with one of `labels` when given,
    only labelled ones unless `labelled_only` is False."""
    sql = f"SELECT {', '.join(_IMAGE_COLUMNS)} FROM finetune_images WHERE channel = ?"
    params: list[Any] = [channel]
    if labels is not None:
        sql += f" AND label IN ({', '.join('?' for _ in labels)})"
        params.extend(labels)
    elif labelled_only:
        sql += " AND label IS NOT NULL"
    sql += " ORDER BY CAST(ts AS REAL), ts, file_id"
    return [_image(row) for row in db.execute(sql, params).fetchall()]


def label_counts(db: sqlite_utils.Database, channel: str) -> dict[str, int]:
    """Labelled images per label in `channel`, most first (ties by name)."""
    rows = db.execute(
        "SELECT label, COUNT(*) FROM finetune_images WHERE channel = ? AND label IS NOT NULL "
        "GROUP BY label ORDER BY COUNT(*) DESC, label", [channel]).fetchall()
    return {label: count for label, count in rows}


def unlabelled_count(db: sqlite_utils.Database, channel: str) -> int:
    """Images in `channel` from which no label could be read."""
    return int(db.execute("SELECT COUNT(*) FROM finetune_images WHERE channel = ? AND label IS NULL",
                          [channel]).fetchone()[0])


def has_images(db: sqlite_utils.Database, channel: str) -> bool:
    row = db.execute("SELECT 1 FROM finetune_images WHERE channel = ? LIMIT 1", [channel]).fetchone()
    return row is not None


def record_history_scan(db: sqlite_utils.Database, scan: HistoryScan) -> None:
    """Remember that `scan.channel` was read (the latest scan replaces an earlier one)."""
    with transaction(db) as conn:
        conn.execute(
            "INSERT INTO finetune_history_scans (channel, scanned_at, messages, images, truncated) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel) DO UPDATE SET scanned_at = excluded.scanned_at, "
            "messages = excluded.messages, images = excluded.images, truncated = excluded.truncated",
            (scan.channel, _utc(scan.scanned_at), scan.messages, scan.images, int(scan.truncated)))


def history_scan(db: sqlite_utils.Database, channel: str) -> HistoryScan | None:
    row = db.execute("SELECT channel, scanned_at, messages, images, truncated FROM finetune_history_scans "
                     "WHERE channel = ?", [channel]).fetchone()
    if row is None:
        return None
    return HistoryScan(channel=row[0], scanned_at=datetime.fromisoformat(row[1]), messages=row[2],
                       images=row[3], truncated=bool(row[4]))


_RUN_COLUMNS = ("id", "channel", "thread_ts", "user_id", "labels", "status", "head_path", "report", "error",
                "created_at", "finished_at", "question_deck", "question_card", "owner")


def _run(row: tuple) -> DemoRun:
    data = dict(zip(_RUN_COLUMNS, row, strict=True))
    return DemoRun(
        id=data["id"], channel=data["channel"], thread_ts=data["thread_ts"], user_id=data["user_id"],
        labels=tuple(json.loads(data["labels"])) if data["labels"] is not None else None,
        status=RunStatus(data["status"]), head_path=data["head_path"],
        report=json.loads(data["report"]) if data["report"] else None, error=data["error"],
        created_at=datetime.fromisoformat(data["created_at"]),
        finished_at=datetime.fromisoformat(data["finished_at"]) if data["finished_at"] else None,
        question_deck=data["question_deck"], question_card=data["question_card"], owner=data["owner"])


def _select_runs(db: sqlite_utils.Database, where: str, params: Sequence[Any]) -> list[DemoRun]:
    sql = f"SELECT {', '.join(_RUN_COLUMNS)} FROM finetune_runs WHERE {where} ORDER BY id"
    return [_run(row) for row in db.execute(sql, list(params)).fetchall()]


def start_run(db: sqlite_utils.Database, *, channel: str, thread_ts: str | None, user_id: str | None,
              labels: Sequence[str] | None, now: datetime, owner: str | None = None) -> DemoRun:
    """Record a demo whose progress message is `thread_ts` (once: the same message gives the same run);
    None: a new run whose message is to be posted (`set_run_message` records it, `DemoRun.posted`).
    owner: which bot process runs it (e.g. "host:pid:start"), so another process can tell whether
    the run was orphaned by a restart."""
    thread_ts = thread_ts or f"{UNPOSTED}{uuid.uuid4().hex}"
    with transaction(db) as conn:
        conn.execute(
            "INSERT OR IGNORE INTO finetune_runs "
            "(channel, thread_ts, user_id, labels, status, created_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (channel, thread_ts, user_id, json.dumps(list(labels)) if labels is not None else None,
             RunStatus.RUNNING.value, _utc(now), owner))
    run = run_for_thread(db, channel, thread_ts)
    assert run is not None
    return run


def set_run_message(db: sqlite_utils.Database, run_id: int, thread_ts: str) -> DemoRun:
    """Record the ts of a run's progress message, posted after the run was recorded."""
    with transaction(db) as conn:
        conn.execute("UPDATE finetune_runs SET thread_ts = ? WHERE id = ?", (thread_ts, run_id))
    runs = _select_runs(db, "id = ?", [run_id])
    if not runs:
        raise KeyError(f"no demo run {run_id}")
    return runs[0]


def finish_run(db: sqlite_utils.Database, run_id: int, *, status: RunStatus, now: datetime,
               head: bytes | None = None, report: dict[str, Any] | None = None,
               error: str | None = None) -> DemoRun:
    """Mark a run done or failed, with its trained head (bytes) and report, or its error in plain
    words; one transaction, so a done run always has its head."""
    if status is RunStatus.RUNNING:
        raise ValueError("finish_run needs DONE or FAILED")
    with transaction(db) as conn:
        conn.execute(
            "UPDATE finetune_runs SET status = ?, report = ?, error = ?, finished_at = ? WHERE id = ?",
            (status.value, json.dumps(report) if report is not None else None, error, _utc(now), run_id))
        if head is not None:
            conn.execute("INSERT OR REPLACE INTO finetune_heads (run_id, head, created_at) VALUES (?, ?, ?)",
                         (run_id, head, _utc(now)))
    runs = _select_runs(db, "id = ?", [run_id])
    if not runs:
        raise KeyError(f"no demo run {run_id}")
    return runs[0]


def head_for_run(db: sqlite_utils.Database, run_id: int) -> bytes | None:
    """The trained head a finished run kept (None: the run has none in the database)."""
    row = db.execute("SELECT head FROM finetune_heads WHERE run_id = ?", [run_id]).fetchone()
    return bytes(row[0]) if row else None


def run_for_thread(db: sqlite_utils.Database, channel: str, thread_ts: str) -> DemoRun | None:
    runs = _select_runs(db, "channel = ? AND thread_ts = ?", [channel, thread_ts])
    return runs[0] if runs else None


def runs_in_channel(db: sqlite_utils.Database, channel: str) -> list[DemoRun]:
    return _select_runs(db, "channel = ?", [channel])


def orphaned_runs(db: sqlite_utils.Database, *,
                  owner_alive: Callable[[str | None], bool] = lambda owner: False) -> list[DemoRun]:
    """Runs left RUNNING by a bot process that stopped (`owner_alive(owner)` is False), oldest first.
    Runs of a live process are left out."""
    return [run for run in _select_runs(db, "status = ?", [RunStatus.RUNNING.value])
            if not owner_alive(run.owner)]


def fail_unfinished_runs(db: sqlite_utils.Database, *, now: datetime, error: str,
                         owner_alive: Callable[[str | None], bool] = lambda owner: False) -> list[DemoRun]:
    """Mark the `orphaned_runs` FAILED with `error`; returns them. Runs of a live process are left alone."""
    return [finish_run(db, run.id, status=RunStatus.FAILED, now=now, error=error)
            for run in orphaned_runs(db, owner_alive=owner_alive)]


def claim_classification(db: sqlite_utils.Database, *, channel: str, file_id: str, run_id: int, ts: str,
                         now: datetime) -> bool:
    """Claim the classification of one image posted in a demo's thread. False when it was claimed
    before (Slack retried the event): the caller then does nothing."""
    with transaction(db) as conn:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO finetune_classifications (channel, file_id, run_id, ts, created_at) "
            "VALUES (?, ?, ?, ?, ?)", (channel, file_id, run_id, ts, _utc(now)))
    return cursor.rowcount == 1


def save_classification(db: sqlite_utils.Database, *, channel: str, file_id: str,
                        result: list[tuple[str, float]] | None, error: str | None = None) -> None:
    """Store what the head said about a claimed image (or why it could not say)."""
    payload: Any = {"error": error} if result is None else [[label, p] for label, p in result]
    with transaction(db) as conn:
        conn.execute("UPDATE finetune_classifications SET result = ? WHERE channel = ? AND file_id = ?",
                     (json.dumps(payload), channel, file_id))


def classification(db: sqlite_utils.Database, channel: str, file_id: str) -> Any | None:
    """The stored result of a classification (list of [label, probability] or {"error": ...})."""
    row = db.execute("SELECT result FROM finetune_classifications WHERE channel = ? AND file_id = ?",
                     [channel, file_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def set_run_question(db: sqlite_utils.Database, run_id: int, *, deck: str, card_id: str) -> None:
    """Remember which deck question was shown in the run's thread (so replies can answer it)."""
    with transaction(db) as conn:
        conn.execute("UPDATE finetune_runs SET question_deck = ?, question_card = ? WHERE id = ?",
                     (deck, card_id, run_id))


@dataclass(frozen=True)
class ThreadAnswer:
    """A member's answer to the deck question in a demo's thread (the first one stands)."""

    run_id: int
    user_id: str
    choice: int  # 0-based option index
    correct: bool
    ts: str


def record_answer(db: sqlite_utils.Database, answer: ThreadAnswer, *,
                  now: datetime) -> tuple[ThreadAnswer, bool]:
    """Store `answer` unless the member answered before. Returns the answer that stands and whether
    it is this one (False: an earlier answer stands, or Slack delivered this one twice)."""
    with transaction(db) as conn:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO finetune_answers (run_id, user_id, choice, correct, ts, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (answer.run_id, answer.user_id, answer.choice, int(answer.correct), answer.ts, _utc(now)))
        row = conn.execute(
            "SELECT choice, correct, ts FROM finetune_answers WHERE run_id = ? AND user_id = ?",
            (answer.run_id, answer.user_id)).fetchone()
    return ThreadAnswer(answer.run_id, answer.user_id, int(row[0]), bool(row[1]), str(row[2])), \
        cursor.rowcount == 1


def answer_counts(db: sqlite_utils.Database, run_id: int) -> dict[int, int]:
    """How many members chose each option in the run's thread."""
    rows = db.execute("SELECT choice, COUNT(*) FROM finetune_answers WHERE run_id = ? GROUP BY choice",
                      [run_id]).fetchall()
    return {int(choice): int(n) for choice, n in rows}
