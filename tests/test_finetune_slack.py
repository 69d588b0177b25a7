"""/finetune end to end: the app served over HTTP gets Slack-signed requests (tests/slack_requests.py)
and its WebClient talks to a Slack stand-in over HTTP (tests/slack_standin.py). Images are crops of
scikit-image's shipped photos: chelsea() is a cat, coffee() a cup of coffee.

Only `test_demo_end_to_end` trains (a 3-second budget per arm); the other tests stop before the child
process or make it fail on purpose, so the file stays well within a minute or two on 2 CPU cores.
"""

from __future__ import annotations

import io
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from skimage import data as photos
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_requests import SlackSender, WsgiServer
from slack_standin import SlackStandin

from bot.config import Settings
from bot.finetune import downloads
from bot.finetune import slack_messages as say
from bot.finetune.child import FAULT_ENV
from bot.finetune.images import MAX_FILE_BYTES, SkipReason
from bot.finetune.jobs import DemoRunner, MachineLock
from bot.finetune.report import ArmResult, FinetuneReport
from bot.finetune.slack_flow import PROCESS_OWNER, FinetuneFlow, process_alive
from bot.finetune.slack_thread import parse_choice
from bot.slack.app import build_app
from bot.slack.context import AppContext
from bot.tutor import Tutor
from content.loader import DECKS_DIR, load_deck_file
from storage import images as store
from storage.db import open_db
from storage.images import RunStatus

SECRET = "finetune-test-signing-secret"
ALICE, BOB = "U0ALICE001", "U0BOB00001"
DEMO_TIMEOUT_S = 150


def _jpeg(array: np.ndarray, box: tuple[int, int, int, int], size: int = 96) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).crop(box).resize((size, size)).save(out, "JPEG", quality=85)
    return out.getvalue()


def cat(i: int) -> bytes:
    """Crops around Chelsea's face, shifted a little each time."""
    return _jpeg(photos.chelsea(), (60 + 12 * i, 10 + 6 * i, 300 + 12 * i, 250 + 6 * i))


def coffee(i: int) -> bytes:
    return _jpeg(photos.coffee(), (60 + 20 * i, 20 + 10 * i, 420 + 20 * i, 380 + 10 * i))


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header (and a tiny IDAT) for an image of width x height pixels: a 60-byte file."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + \
        chunk(b"IEND", b"")


@dataclass
class World:
    slack: SlackStandin
    sender: SlackSender
    app: App
    ctx: AppContext
    channel: str
    tmp: Path

    @property
    def flow(self) -> FinetuneFlow:
        return self.app.finetune_flow  # type: ignore[attr-defined,no-any-return]

    def post(self, *files: tuple[str, bytes], text: str = "", user: str = ALICE, thread_ts: str | None = None,
             mimetype: str = "image/jpeg", send: bool = True) -> dict[str, Any]:
        """A member posts files; the app gets the message event unless `send` is False."""
        shared = [self.slack.add_file(content, name=name, mimetype=mimetype, user=user)
                  for name, content in files]
        message = self.slack.post_user_message(self.channel, user, text, files=shared, thread_ts=thread_ts)
        event = self.slack.message_event(self.channel, message)
        if send:
            reply = self.sender.event(event)
            assert reply.status == 200 and reply.acked_in_time
        return event

    def command(self, text: str = "", user: str = ALICE, channel: str | None = None) -> Any:
        reply = self.sender.command("/finetune", text, user_id=user, channel_id=channel or self.channel)
        assert reply.status == 200 and reply.acked_in_time, reply
        return reply

    def wait_recorded(self, counts: dict[str, int]) -> None:
        """Events are acknowledged before the listener runs: wait for the records to land."""
        self.slack.wait_for(lambda: store.label_counts(self.ctx.db, self.channel) == counts, 10,
                            what=f"recorded labels {counts}")

    def wait_idle(self, timeout: float = DEMO_TIMEOUT_S) -> None:
        self.slack.wait_for(self.flow.idle, timeout, what="the /finetune workers to finish")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with SlackStandin() as slack:
        slack.add_user(ALICE, name="alice")
        slack.add_user(BOB, name="bob")
        channel = slack.add_channel("vision", members=[ALICE, BOB])
        settings = Settings(db_path=str(tmp_path / "tutor.db"), slack_bot_token=slack.bot_token,
                            slack_signing_secret=SECRET, slack_api_url=slack.api_url,
                            finetune_dir=str(tmp_path / "finetune"), finetune_budget_s=3.0,
                            finetune_time_limit_s=120.0, finetune_device="cpu")
        db = open_db(settings.db_path)
        ctx = AppContext(settings=settings, db=db, tutor=Tutor(db))
        app = build_app(ctx)
        # One lock per test, so a demo of another test run on this machine does not queue this one.
        app.finetune_flow.runner = DemoRunner(lock_path=tmp_path / "demo.lock", time_limit_s=120.0)  # type: ignore[attr-defined]
        with WsgiServer(SlackRequestHandler(app)) as server:
            sender = SlackSender(server.url + "/slack/events", SECRET, slack=slack)
            yield World(slack, sender, app, ctx, channel, tmp_path)
            app.finetune_flow.shutdown(wait=True)  # type: ignore[attr-defined]


def _progress_texts(world: World) -> list[str]:
    return [c["text"] for c in world.slack.calls_to("chat.update")]


def _run_for(world: World) -> store.DemoRun:
    runs = store.runs_in_channel(world.ctx.db, world.channel)
    assert len(runs) == 1
    return runs[0]


# ---- cheap paths: no training --------------------------------------------------------------------

def test_help_explains_how_to_label(world: World) -> None:
    reply = world.command("help")
    text = reply.json()["text"]
    assert "`label: cat`" in text and "`cat_01.jpg`" in text and "IMG_0042" in text
    assert "`/finetune cat dog`" in text
    assert world.slack.messages(world.channel) == []


def test_too_few_images_says_what_to_post(world: World) -> None:
    for i in range(3):
        world.post((f"cat_{i}.jpg", cat(i)))
    world.post(("dog.jpg", coffee(0)), text="dog")
    world.post(("IMG_0042.JPG", coffee(1)))
    world.command()
    responses = world.slack.wait_for(lambda: world.slack.responses(), 20, what="the too-few reply")
    text = responses[0]["body"]["text"]
    assert "`cat` 3, `dog` 1" in text
    assert "2 more `dog` image(s)" in text
    assert "1 image(s) here have no label" in text
    world.wait_idle(20)
    assert world.slack.messages(world.channel)[-1]["user"] == ALICE  # the bot posted nothing public
    # Asking for labels that are not there names them.
    world.command("cat bird")
    world.slack.wait_for(lambda: len(world.slack.responses()) == 2, 20)
    assert "`cat` 3, `bird` 0" in world.slack.responses()[1]["body"]["text"]


def test_slack_retry_records_once_and_labels_come_from_text_or_name(world: World) -> None:
    event = world.post(("IMG_0001.jpg", cat(0)), ("IMG_0002.jpg", cat(1)), text="#Cat")
    world.post(("coffee_07.jpg", coffee(0)))
    world.post(("notes.txt", b"meeting notes"), text="cat", mimetype="text/plain")  # not an image file
    for retry in (1, 2):
        assert world.sender.event(event, retry_num=retry).status == 200
    world.wait_recorded({"cat": 2, "coffee": 1})
    world.sender.event(event, retry_num=3)
    time.sleep(0.3)  # give a wrongly recorded retry the time to show
    recorded = store.channel_images(world.ctx.db, world.channel)
    assert {(i.name, i.label, i.user_id) for i in recorded} == {
        ("IMG_0001.jpg", "cat", ALICE), ("IMG_0002.jpg", "cat", ALICE), ("coffee_07.jpg", "coffee", ALICE)}
    assert all(i.url and i.size and i.mimetype == "image/jpeg" for i in recorded)
    assert world.slack.calls_to("files.info") == []  # the event carried everything: nothing fetched

    # Slack Connect and some shares send only the id (`file_access: check_file_info`): looked up.
    file = world.slack.add_file(cat(2), name="IMG_0003.jpg", mimetype="image/jpeg", user=BOB)
    message = world.slack.post_file_message(world.channel, BOB, [file], text="cat")
    event = world.slack.message_event(world.channel, message)
    event["files"] = [{"id": file["id"], "file_access": "check_file_info", "mode": "hosted"}]
    world.sender.event(event)
    world.wait_recorded({"cat": 3, "coffee": 1})
    assert [c["file"] for c in world.slack.calls_to("files.info")] == [file["id"]]
    looked_up = [i for i in store.channel_images(world.ctx.db, world.channel) if i.file_id == file["id"]]
    assert looked_up[0].url == file["url_private_download"] and looked_up[0].size == file["size"]


def test_history_is_read_when_the_channel_has_no_records(world: World) -> None:
    # Posted before the bot listened: no events reach the app.
    for i in range(3):
        world.post((f"cat_{i}.jpg", cat(i)), send=False)
    world.post(("one.jpg", coffee(0)), ("two.jpg", coffee(1)), text="label: coffee", send=False)
    for i in range(1050):
        world.slack.post_user_message(world.channel, BOB, f"chatter {i}")
    world.post(("cat_9.jpg", cat(3)), send=False)  # newest: inside the 1,000 read
    world.command()
    world.slack.wait_for(lambda: world.slack.responses(), 30, what="the reply after the history read")
    world.wait_idle(30)
    history_calls = world.slack.calls_to("conversations.history")
    assert len(history_calls) == 10
    scan = store.history_scan(world.ctx.db, world.channel)
    assert scan is not None and scan.messages == 1000 and scan.truncated and scan.images == 1
    assert store.label_counts(world.ctx.db, world.channel) == {"cat": 1}  # the older ones are out of reach
    assert "`cat` 1" in world.slack.responses()[0]["body"]["text"]


def test_history_read_records_old_images_and_the_html_page_is_explained(world: World) -> None:
    for i in range(3):
        world.post((f"cat_{i}.jpg", cat(i)), send=False)
        world.post((f"coffee_{i}.jpg", coffee(i)), send=False)
    world.slack.files_need_scope = True  # the app was installed without files:read
    world.command()
    world.wait_idle(60)
    assert store.label_counts(world.ctx.db, world.channel) == {"cat": 3, "coffee": 3}
    run = _run_for(world)
    assert run.status is RunStatus.FAILED and run.error == "too few usable images"
    thread = world.slack.replies(world.channel, run.thread_ts)
    text = thread[0]["text"]
    assert f"{SkipReason.HTML_PAGE.value}: 6" in text and "`files:read`" in text
    assert world.slack.messages(world.channel)[-1]["text"].splitlines()[-1].startswith(":x:")


def test_not_in_channel(world: World) -> None:
    elsewhere = world.slack.add_channel("random", members=[ALICE], bot_is_member=False)
    world.command(channel=elsewhere)
    response = world.slack.wait_for(lambda: world.slack.responses(), 20)[0]
    assert "Invite me" in response["body"]["text"]


@pytest.mark.parametrize("failure", ["killed", "time limit"])
def test_failures_of_the_demo_are_reported_in_the_thread(world: World, monkeypatch: pytest.MonkeyPatch,
                                                         failure: str) -> None:
    if failure == "killed":
        monkeypatch.setenv(FAULT_ENV, "kill")  # the child dies as the kernel's OOM killer kills it
        expected = "the demo was killed by the system, most likely because it ran out of memory"
    else:
        world.flow.runner = DemoRunner(lock_path=world.tmp / "demo.lock", time_limit_s=0.5)
        expected = "the demo took longer than 0.5 s and was stopped"
    for i in range(3):
        world.post((f"cat_{i}.jpg", cat(i)))
        world.post((f"coffee_{i}.jpg", coffee(i)))
    world.command()
    world.wait_idle(60)
    run = _run_for(world)
    assert run.status is RunStatus.FAILED and run.error == expected
    thread = world.slack.replies(world.channel, run.thread_ts)
    assert thread[-1]["text"].startswith(f"The demo did not finish: {expected}.")
    assert _progress_texts(world)[-1].splitlines()[-1].startswith(":x: The demo did not finish")
    # An image posted in the thread of a failed demo gets a plain answer, not silence.
    world.post(("cat_5.jpg", cat(5)), thread_ts=run.thread_ts, user=BOB)
    world.slack.wait_for(lambda: "no trained model" in world.slack.replies(world.channel, run.thread_ts)[-1]
                         .get("text", ""), 20, what="the answer about the missing model")


def test_download_is_capped_while_streaming(world: World) -> None:
    file = world.slack.add_file(cat(0), name="cat.jpg", mimetype="image/jpeg", user=ALICE)
    url = file["url_private_download"]
    assert downloads.fetch(url, world.slack.bot_token, max_bytes=1000) is SkipReason.TOO_LARGE
    body = downloads.fetch(url, world.slack.bot_token)
    assert body == cat(0)
    with pytest.raises(downloads.DownloadError, match="HTTP 404"):
        downloads.fetch(url.replace(file["id"], "F0NOTHERE"), world.slack.bot_token)


# ---- the words, without Slack ---------------------------------------------------------------------

def _report(pre: tuple[float, float], scratch: tuple[float, float]) -> FinetuneReport:
    def arm(accuracy: float, seconds: float) -> ArmResult:
        return ArmResult(accuracy=accuracy, seconds=seconds, per_class={}, confusion=[], curve=[])
    return FinetuneReport(device="cuda (NVIDIA H200)", classes=["cat", "coffee"], images=20,
                          images_per_class={"cat": 10, "coffee": 10}, skipped=[], pretrained=arm(*pre),
                          scratch=arm(*scratch), chart="c.png", backbone="tf_efficientnet_lite0", budget_s=10,
                          split="stratified 25% held out", head_path="h.pt", held_out=5)


def test_comparison_is_worded_for_each_outcome() -> None:
    assert "2.0x as accurate" in say.comparison_line(_report((0.9, 1.0), (0.45, 9.0)))
    assert "got none right" in say.comparison_line(_report((0.9, 1.0), (0.0, 9.0)))
    assert "4.0x sooner" in say.comparison_line(_report((1.0, 1.0), (1.0, 4.0)))
    assert "from scratch did better" in say.comparison_line(_report((0.5, 1.0), (0.75, 4.0)))
    text = say.report_text(_report((0.9, 1.0), (0.45, 9.0)), left_out={"dog": 2},
                           failed=[("a.jpg", "could not download (HTTP 404)")])
    assert "on *cuda (NVIDIA H200)*" in text and "*90%* accuracy after 1.0 s" in text
    assert "• could not download (HTTP 404): 1 (`a.jpg`)" in text and "`dog` 2" in text


def test_too_few_says_what_is_missing() -> None:
    assert "To do: post 3 images of each of 2 more label(s)" in say.too_few_text({})
    text = say.too_few_text({"cat": 5})
    assert "`cat` 5" in text and "3 images of each of 1 more label(s)" in text
    text = say.too_few_text({"cat": 2, "dog": 1, "owl": 0}, asked=["cat", "dog", "owl"])
    assert "Those labels have: `cat` 2, `dog` 1, `owl` 0" in text
    assert "1 more `cat` image(s) and 2 more `dog` image(s)" in text


def test_classification_lines_escape_file_names() -> None:
    text = say.classification_text([("a<b>&c.jpg", [("cat", 0.874), ("coffee", 0.126)]),
                                    ("notes.jpg", SkipReason.NOT_IMAGE.value)])
    assert text.splitlines() == ["`a&lt;b&gt;&amp;c.jpg`: *cat* 87%, coffee 13%",
                                 "`notes.jpg`: skipped (not an image)"]


def test_which_runs_a_restart_may_call_orphaned() -> None:
    host, pid, _ = PROCESS_OWNER.rsplit(":", 2)
    assert process_alive(PROCESS_OWNER)
    assert not process_alive(f"{host}:{pid}:1")  # an earlier process that had this pid: restarted
    assert process_alive("another-host:1:1")  # cannot be checked from here
    finished = subprocess.run(["true"], check=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert finished.returncode == 0 and not process_alive(f"{host}:{dead.pid}:1")
    assert not process_alive(None) and not process_alive("garbage")


def test_choice_letters() -> None:
    assert [parse_choice(t, 4) for t in ["C", "c)", "(b)", " a. ", "D!"]] == [2, 2, 1, 0, 3]
    assert [parse_choice(t, 4) for t in ["E", "cat", "", None, "C is right"]] == [None] * 5


def test_progress_board_marks_the_running_stage() -> None:
    board = say.ProgressBoard(header="*demo*")
    assert board.advance("download", "downloading 1/4 images")
    assert not board.advance("download", "downloading 4/4 images")
    board.advance("queued", "waiting")
    board.advance("embedding", "embedding 4/4 images")
    assert board.text().splitlines() == [
        "*demo*", ":white_check_mark: downloading 4/4 images",
        ":white_check_mark: waited for the demo ahead of this one",
        ":hourglass_flowing_sand: embedding 4/4 images"]
    board.finish(":x: stopped")
    assert board.text().splitlines()[-2:] == [":white_check_mark: embedding 4/4 images", ":x: stopped"]


# ---- the demo ------------------------------------------------------------------------------------

def test_demo_end_to_end(world: World) -> None:
    world.ctx.tutor.import_deck(load_deck_file(DECKS_DIR / "pretrained-models-cv.yaml").deck)
    world.post(("IMG_1001.jpg", cat(0)), ("IMG_1002.jpg", cat(1)), text="cat")
    world.post(("cat_03.jpg", cat(2)))
    world.post(("photo.jpg", cat(3)), text="#cat")
    world.post(("coffee_1.jpg", coffee(0)), ("coffee_2.jpg", coffee(1)))
    world.post(("IMG_2003.jpg", coffee(2)), text="label: coffee")
    world.post(("cup.jpg", coffee(3)), text="Coffee!", user=BOB)
    # One of each kind of bad file, labelled so they are part of the demo's images.
    world.post(("cat_91.jpg", b"this is not a picture"))
    world.post(("coffee_92.jpg", coffee(4)[:700]))
    world.post(("cat_93.png", png_claiming(8000, 6000)), mimetype="image/png")
    world.post(("coffee_94.jpg", b"\0" * (MAX_FILE_BYTES + 1)))  # skipped by its recorded size
    world.wait_recorded({"cat": 6, "coffee": 6})

    # Another demo holds the machine: this one waits and shows its place in the queue.
    lock = MachineLock(world.flow.runner.lock.lock_path)
    release, held = threading.Event(), threading.Event()

    def hold() -> None:
        with lock.held():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        world.command()
        world.slack.wait_for(lambda: any("number 1 in the queue" in t for t in _progress_texts(world)), 30,
                             what="the queue position in the progress message")
    finally:
        release.set()
        holder.join()
    world.wait_idle()
    assert "Done" in _progress_texts(world)[-1]

    progress = _progress_texts(world)
    assert any("downloading" in t for t in progress)
    assert any("embedding" in t.lower() or "training" in t.lower() for t in progress)
    top = world.slack.messages(world.channel)[-1]
    assert top["text"] == progress[-1] and top["user"] == world.slack.bot_user_id

    run = _run_for(world)
    assert run.status is RunStatus.DONE and run.head_path and Path(run.head_path).exists()
    assert run.report is not None and run.report["images_per_class"] == {"cat": 4, "coffee": 4}
    thread = world.slack.replies(world.channel, run.thread_ts)
    report = thread[0]["text"]
    assert "on *cpu*" in report and "*Pre-trained*" in report and "*From scratch*" in report
    assert "`cat` 4, `coffee` 4" in report
    for reason in [SkipReason.NOT_IMAGE, SkipReason.CORRUPT, SkipReason.TOO_MANY_PIXELS,
                   SkipReason.TOO_LARGE]:
        assert f"• {reason.value}: 1" in report, reason
    charts = world.slack.uploaded_files(world.channel)
    assert len(charts) == 1 and charts[0]["mimetype"] == "image/png"
    chart_message = next(m for m in thread if m.get("files") and m["files"][0]["id"] == charts[0]["id"])
    # Slack tells the bot about its own upload too: that image is neither training data nor a query.
    world.sender.event(world.slack.message_event(world.channel, chart_message))

    # The deck question the demo acts out, with its options and how to answer it.
    question = next(m["text"] for m in thread if "saves the most time" in m["text"])
    assert "*C.* Use a pre-trained model and fine-tune only its last layer on your data" in question
    assert "reply in this thread with one letter (A, B, C, D)" in question
    assert "`/tutor join pretrained-models-cv`" in question

    def feedback(user: str) -> list[str]:
        return [e["text"] for e in world.slack.ephemerals(world.channel, user)]

    answer = world.post(text="C", user=BOB, thread_ts=run.thread_ts)
    world.slack.wait_for(lambda: feedback(BOB), 10, what="the feedback to Bob's answer")
    world.sender.event(answer, retry_num=1)
    world.post(text="b)", user=BOB, thread_ts=run.thread_ts)
    world.post(text="b)", user=ALICE, thread_ts=run.thread_ts)
    world.slack.wait_for(lambda: len(feedback(BOB)) == 2 and feedback(ALICE), 10)
    assert feedback(BOB)[0].startswith(":white_check_mark: *Right!* *C.*")
    assert feedback(BOB)[1].startswith("You already answered C; your first answer stands.")
    assert feedback(ALICE)[0].startswith(":x: *Not quite.* You chose *B.*")
    assert "*Answer:* *C.*" in feedback(ALICE)[0]
    assert all(e["thread_ts"] == run.thread_ts for e in world.slack.ephemerals(world.channel))

    # The bot restarts: the thread still answers, with the head kept on disk.
    app2 = build_app(world.ctx)
    app2.finetune_flow.runner = world.flow.runner  # type: ignore[attr-defined]
    with WsgiServer(SlackRequestHandler(app2)) as server:
        world.sender = SlackSender(server.url + "/slack/events", SECRET, slack=world.slack)
        world.app = app2
        event = world.post(("mystery.jpg", cat(5)), thread_ts=run.thread_ts, user=BOB)
        world.sender.event(event, retry_num=1)  # a retry classifies nothing twice
        world.slack.wait_for(lambda: any("mystery.jpg" in m["text"] for m in
                                         world.slack.replies(world.channel, run.thread_ts)), 60,
                             what="the classification reply")
        world.wait_idle(60)
        answers = [m for m in world.slack.replies(world.channel, run.thread_ts) if "mystery.jpg" in m["text"]]
        assert len(answers) == 1
        replies = world.slack.replies(world.channel, run.thread_ts)
        assert not any("finetune-chart" in m["text"] for m in replies)
        assert store.classification(world.ctx.db, world.channel, charts[0]["id"]) is None
        assert answers[0]["text"].startswith("`mystery.jpg`: *cat*")
        app2.finetune_flow.shutdown()  # type: ignore[attr-defined]
