"""storage/images.py against a real SQLite file: idempotent records, counts, runs across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import images
from storage.db import open_db
from storage.images import HistoryScan, ImageSource, RecordedImage, RunStatus

NOW = datetime(2024, 5, 6, 9, 30, tzinfo=UTC)


def _image(file_id: str, label: str | None, ts: str = "1714987800.000100", channel: str = "C1",
           **extra: object) -> RecordedImage:
    return RecordedImage(channel=channel, file_id=file_id, ts=ts, name=f"{file_id}.jpg", label=label,
                         user_id="U1", mimetype="image/jpeg", size=1234, url=f"http://x/{file_id}",
                         **extra)  # type: ignore[arg-type]


def test_images_recorded_once_per_channel_and_file(tmp_path: Path) -> None:
    db = open_db(tmp_path / "t.db")
    batch = [_image("F1", "cat"), _image("F2", "cat", ts="1714987801.000100"), _image("F3", None)]
    assert images.record_images(db, batch, now=NOW) == 3
    # Slack retries the event, and a history scan finds the same files: nothing changes.
    assert images.record_images(db, batch, now=NOW + timedelta(minutes=1)) == 0
    changed = [_image("F1", "dog", source=ImageSource.HISTORY)]
    assert images.record_images(db, changed, now=NOW) == 0
    # The same file shared in another channel is another record.
    assert images.record_images(db, [_image("F1", "cat", channel="C2")], now=NOW) == 1

    assert images.label_counts(db, "C1") == {"cat": 2}
    assert images.unlabelled_count(db, "C1") == 1
    assert images.has_images(db, "C1") and not images.has_images(db, "C3")
    stored = images.channel_images(db, "C1")
    assert [i.file_id for i in stored] == ["F1", "F2"]
    assert stored[0] == batch[0]
    assert [i.file_id for i in images.channel_images(db, "C1", labelled_only=False)] == ["F1", "F3", "F2"]
    assert images.channel_images(db, "C1", labels=["dog"]) == []


def test_channel_images_oldest_first_and_filtered(tmp_path: Path) -> None:
    db = open_db(tmp_path / "t.db")
    images.record_images(db, [
        _image("F3", "dog", ts="1714987900.000001"),
        _image("F1", "cat", ts="1714987800.000001"),
        _image("F2", "coffee", ts="999999999.000001"),  # fewer digits: numeric order, not text order
    ], now=NOW)
    assert [i.file_id for i in images.channel_images(db, "C1")] == ["F2", "F1", "F3"]
    assert [i.label for i in images.channel_images(db, "C1", labels=["cat", "dog"])] == ["cat", "dog"]
    assert images.label_counts(db, "C1") == {"cat": 1, "coffee": 1, "dog": 1}


def test_recorded_image_round_trips_through_dict() -> None:
    image = _image("F9", "cat", thread_ts="1.2", source=ImageSource.HISTORY)
    assert RecordedImage.from_dict(image.to_dict()) == image


def test_history_scan_is_remembered(tmp_path: Path) -> None:
    db = open_db(tmp_path / "t.db")
    assert images.history_scan(db, "C1") is None
    scan = HistoryScan(channel="C1", scanned_at=NOW, messages=1000, images=12, truncated=True)
    images.record_history_scan(db, scan)
    assert images.history_scan(db, "C1") == scan
    later = HistoryScan(channel="C1", scanned_at=NOW + timedelta(hours=1), messages=3, images=0,
                        truncated=False)
    images.record_history_scan(db, later)
    assert images.history_scan(db, "C1") == later


def test_runs_survive_a_restart_and_unfinished_ones_fail(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    db = open_db(path)
    run = images.start_run(db, channel="C1", thread_ts="1714987800.000200", user_id="U1",
                           labels=["cat", "coffee"], now=NOW)
    assert run.status is RunStatus.RUNNING and run.labels == ("cat", "coffee")
    again = images.start_run(db, channel="C1", thread_ts="1714987800.000200", user_id="U1", labels=None,
                             now=NOW)
    assert again.id == run.id
    head = b"\x80\x02 the head's bytes \x00\xff"
    done = images.finish_run(db, run.id, status=RunStatus.DONE, now=NOW + timedelta(seconds=30), head=head,
                             report={"device": "cpu"})
    assert done.status is RunStatus.DONE and done.report == {"device": "cpu"}
    other = images.start_run(db, channel="C1", thread_ts="1714987900.000200", user_id="U2", labels=None,
                             now=NOW, owner="old-host:41:1")
    live = images.start_run(db, channel="C1", thread_ts="1714988000.000200", user_id="U2", labels=None,
                            now=NOW, owner="other-worker:7:1")
    db.conn.close()

    db = open_db(path)  # the bot restarts
    assert images.run_for_thread(db, "C1", "1714987800.000200") == done
    assert images.head_for_run(db, run.id) == head  # kept in the database: no file to lose
    assert images.head_for_run(db, other.id) is None
    failed = images.fail_unfinished_runs(db, now=NOW + timedelta(minutes=5), error="the bot restarted",
                                         owner_alive=lambda owner: owner == "other-worker:7:1")
    assert [r.id for r in failed] == [other.id]
    assert failed[0].status is RunStatus.FAILED and failed[0].error == "the bot restarted"
    assert images.run_for_thread(db, "C1", live.thread_ts) == live  # another process still runs it
    assert [r.id for r in images.fail_unfinished_runs(db, now=NOW, error="x")] == [live.id]
    assert [r.id for r in images.runs_in_channel(db, "C1")] == [run.id, other.id, live.id]
    with pytest.raises(ValueError):
        images.finish_run(db, run.id, status=RunStatus.RUNNING, now=NOW)


def test_classification_is_claimed_once(tmp_path: Path) -> None:
    db = open_db(tmp_path / "t.db")
    run = images.start_run(db, channel="C1", thread_ts="1.0", user_id=None, labels=None, now=NOW)
    assert images.claim_classification(db, channel="C1", file_id="F1", run_id=run.id, ts="2.0", now=NOW)
    assert not images.claim_classification(db, channel="C1", file_id="F1", run_id=run.id, ts="2.0", now=NOW)
    assert images.classification(db, "C1", "F1") is None
    images.save_classification(db, channel="C1", file_id="F1", result=[("cat", 0.9), ("coffee", 0.1)])
    assert images.classification(db, "C1", "F1") == [["cat", 0.9], ["coffee", 0.1]]
    images.save_classification(db, channel="C1", file_id="F1", result=None, error="not an image")
    assert images.classification(db, "C1", "F1") == {"error": "not an image"}


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    db = open_db(tmp_path / "t.db")
    with pytest.raises(ValueError, match="timezone-aware"):
        images.record_images(db, [_image("F1", "cat")], now=datetime(2024, 1, 1))
    assert not images.has_images(db, "C1")


def test_deck_question_and_first_answer_stands(tmp_path: Path) -> None:
    db = open_db(tmp_path / "t.db")
    run = images.start_run(db, channel="C1", thread_ts="1.0", user_id="U1", labels=None, now=NOW)
    images.set_run_question(db, run.id, deck="pretrained-models-cv", card_id="mcq-0123456789ab")
    stored = images.run_for_thread(db, "C1", "1.0")
    assert stored is not None
    assert (stored.question_deck, stored.question_card) == ("pretrained-models-cv", "mcq-0123456789ab")

    first = images.ThreadAnswer(run.id, "U2", choice=1, correct=False, ts="2.0")
    assert images.record_answer(db, first, now=NOW) == (first, True)
    assert images.record_answer(db, first, now=NOW) == (first, False)  # the same reply delivered twice
    second = images.ThreadAnswer(run.id, "U2", choice=2, correct=True, ts="3.0")
    assert images.record_answer(db, second, now=NOW) == (first, False)  # the first answer stands
    other = images.ThreadAnswer(run.id, "U3", choice=2, correct=True, ts="4.0")
    assert images.record_answer(db, other, now=NOW) == (other, True)
    assert images.answer_counts(db, run.id) == {1: 1, 2: 1}
