"""/finetune end to end: the app served over HTTP gets Slack-signed requests (tests/slack_requests.py)
and its WebClient talks to a Slack stand-in over HTTP (tests/slack_standin.py); the demo runs in a
real warm worker process (bot/worker/engine.py). Helpers are in tests/finetune_world.py.

The demo tests train with a 3-second budget per arm: the Slack flow twice in a row (the first on a
worker still starting, the second warm) with the times to the pre-trained result, to the full report
and to a reply's label, a reply labelled while another demo runs, a restart of the bot, and a worker
killed mid-demo while another demo waits in the queue. The other tests stop before any job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from finetune_world import ALICE, BOB, SECRET, World, cat, coffee, finetune_world, png_claiming
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_requests import SlackSender, WsgiServer

from bot.finetune.images import MAX_FILE_BYTES, SkipReason
from bot.finetune.report import ArmResult, FinetuneReport
from bot.slack import marks
from bot.slack.app import build_app
from bot.slack.finetune import downloads
from bot.slack.finetune import messages as say
from bot.slack.finetune.flow import PROCESS_OWNER, RESTART_ERROR, process_alive
from bot.slack.finetune.thread import parse_choice
from bot.worker.engine import WarmWorker
from bot.worker.protocol import WorkerConfig
from content.loader import DECKS_DIR, load_deck_file
from storage import images as store
from storage.images import RunStatus


@pytest.fixture(scope="module")
def worker() -> Iterator[WarmWorker]:
    """One worker for the module's tests, started by the first job that needs it."""
    engine = WarmWorker(config=WorkerConfig(device="cpu"), keep_warm=False)
    yield engine
    engine.close()


@pytest.fixture
def world(tmp_path: Path, worker: WarmWorker) -> Iterator[World]:
    with finetune_world(tmp_path, worker) as made:
        yield made


def _progress_texts(world: World) -> list[str]:
    return [c["text"] for c in world.slack.calls_to("chat.update")]


def _run_for(world: World) -> store.DemoRun:
    runs = world.runs()
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
    text = world.thread_texts(run)[0]
    assert f"{SkipReason.HTML_PAGE.value}: 6" in text and "`files:read`" in text
    assert world.slack.messages(world.channel)[-1]["text"].splitlines()[-1].startswith(":x:")


def test_not_in_channel(world: World) -> None:
    elsewhere = world.slack.add_channel("random", members=[ALICE], bot_is_member=False)
    world.command(channel=elsewhere)
    response = world.slack.wait_for(lambda: world.slack.responses(), 20)[0]
    assert "Invite me" in response["body"]["text"]


def test_a_demo_past_its_time_limit_is_stopped_and_said_in_the_thread(world: World) -> None:
    world.flow.options = replace(world.flow.options, time_limit_s=0.5)
    expected = "the demo took longer than 0.5 s and was stopped"
    world.post_photos()
    world.command()
    world.wait_idle()
    run = _run_for(world)
    assert run.status is RunStatus.FAILED and run.error == expected
    assert world.thread_texts(run)[-1].startswith(f"The demo did not finish: {expected}.")
    assert _progress_texts(world)[-1].splitlines()[-1].startswith(":x: The demo did not finish")
    # An image posted in the thread of a failed demo gets a plain answer, not silence.
    world.post(("cat_5.jpg", cat(5)), thread_ts=run.thread_ts, user=BOB)
    world.slack.wait_for(lambda: "no trained model" in world.thread_texts(run)[-1], 20,
                         what="the answer about the missing model")


def test_demos_a_restart_interrupted_say_so_each_on_its_own(world: World) -> None:
    """Runs left running by a process that is gone: each progress message is edited once the next
    app is built (found by its mark when its ts was never kept); one Slack refuses stays as it was,
    and every orphan is failed. A run of this live process is left alone."""
    db, channel, client = world.ctx.db, world.channel, world.app.client
    host, pid, _ = PROCESS_OWNER.rsplit(":", 2)
    gone = f"{host}:{pid}:1"  # an earlier process that had this pid

    def demo(owner: str, *, keep_ts: bool = True) -> store.DemoRun:
        run = store.start_run(db, channel=channel, thread_ts=None, user_id=ALICE, labels=None,
                              now=world.ctx.clock(), owner=owner)
        posted = client.chat_postMessage(channel=channel, text="*Transfer-learning demo*\ntraining",
                                         metadata=marks.finetune_demo(run.id).metadata())
        return store.set_run_message(db, run.id, posted["ts"]) if keep_ts else run

    refused, edited, found, live = demo(gone), demo(gone), demo(gone, keep_ts=False), demo(PROCESS_OWNER)
    world.slack.fail("chat.update", "internal_error")  # the first edit: `refused`'s
    app2 = build_app(world.ctx)
    try:
        flow = app2.finetune_flow  # type: ignore[attr-defined]
        world.slack.wait_for(flow.idle, 30, what="the interrupted demos ended")
    finally:
        app2.finetune_flow.shutdown()  # type: ignore[attr-defined]
    texts = {m["metadata"]["event_payload"]["run_id"]: m["text"] for m in world.slack.messages(channel)}
    assert texts[refused.id] == texts[live.id] == "*Transfer-learning demo*\ntraining"
    for run in (edited, found):
        assert "interrupted: the bot restarted" in texts[run.id] and f"<@{ALICE}>" in texts[run.id]
    runs = {run.id: run for run in world.runs()}
    failed, running = RunStatus.FAILED, RunStatus.RUNNING
    assert [runs[r.id].status for r in (refused, edited, found, live)] == [failed, failed, failed, running]
    assert runs[found.id].posted and all(runs[r.id].error == RESTART_ERROR for r in (refused, edited, found))


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
                          scratch=arm(*scratch), backbone="tf_efficientnet_lite0", budget_s=10,
                          split="stratified 25% held out", held_out=5)


def test_comparison_is_worded_for_each_outcome() -> None:
    assert "2.0x as accurate" in say.comparison_line(_report((0.9, 1.0), (0.45, 9.0)))
    assert "got none right" in say.comparison_line(_report((0.9, 1.0), (0.0, 9.0)))
    assert "4.0x sooner" in say.comparison_line(_report((1.0, 1.0), (1.0, 4.0)))
    assert "from scratch did better" in say.comparison_line(_report((0.5, 1.0), (0.75, 4.0)))
    text = say.report_text(_report((0.9, 1.0), (0.45, 9.0)), left_out={"dog": 2},
                           failed=[("a.jpg", "could not download (HTTP 404)")])
    assert "on *cuda (NVIDIA H200)*" in text and "*90%* accuracy after 1.0 s" in text
    assert "• could not download (HTTP 404): 1 (`a.jpg`)" in text and "`dog` 2" in text
    assert "*From scratch needed 9.0 s to reach 45% and did not reach 90% within 10 s" in text


def test_streamed_messages_say_what_each_arm_has() -> None:
    preview = {"backbone": "tf_efficientnet_lite0", "pretrained": {"accuracy": 1.0, "seconds": 1.43},
               "embed_s": 0.91, "load_s": 0.0, "images": 18, "held_out": 6, "budget_s": 10.0}
    assert say.pretrained_text(preview) == (
        "*Pre-trained* tf_efficientnet_lite0 + new head: *100%* accuracy after 1.4 s (0.9 s of it embedding "
        "18 images), on 6 held-out predictions.\nNow the same task from scratch, for up to 10 s…")
    assert say.scratch_progress_text({"seconds": 4.2, "accuracy": 0.5, "budget_s": 10.0}) == (
        ":hourglass_flowing_sand: *From scratch*: 50% after 4 s of 10 s")
    assert say.scratch_progress_text({"seconds": 10.0, "accuracy": 0.67, "budget_s": 10.0}).startswith(
        ":white_check_mark:")


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

def _thread_of(world: World, index: int, channel: str | None = None) -> store.DemoRun:
    return world.runs(channel)[index]


def test_demo_end_to_end_twice_then_replies(tmp_path: Path) -> None:
    """The Slack flow twice in a row on a fresh worker: the first while it starts, the second warm."""
    engine = WarmWorker(config=WorkerConfig(device="cpu"))
    with finetune_world(tmp_path, engine) as world:
        try:
            _demo_twice(world, engine)
        finally:
            engine.close()


def _demo_twice(world: World, engine: WarmWorker) -> None:
    world.ctx.tutor.import_deck(load_deck_file(DECKS_DIR / "pretrained-models-cv.yaml").deck)
    world.post(("IMG_1001.jpg", cat(0)), ("IMG_1002.jpg", cat(1)), text="cat")
    world.post(("cat_03.jpg", cat(2)))
    world.post(("photo.jpg", cat(3)), text="#cat")
    world.post(("coffee_1.jpg", coffee(0)), ("coffee_2.jpg", coffee(1)))
    world.post(("IMG_2003.jpg", coffee(2)), text="label: coffee")
    world.post(("cup.jpg", coffee(3)), text="Coffee!", user=BOB)
    # One of each kind of bad file, labelled so they are part of the demo's images. The truncated
    # JPEG passes the bot's header check and is found by the worker's decoder.
    world.post(("cat_91.jpg", b"this is not a picture"))
    world.post(("coffee_92.jpg", coffee(4)[:700]))
    world.post(("cat_93.png", png_claiming(8000, 6000)), mimetype="image/png")
    world.post(("coffee_94.jpg", b"\0" * (MAX_FILE_BYTES + 1)))  # skipped by its recorded size
    world.wait_recorded({"cat": 6, "coffee": 6})

    times: dict[str, float] = {}
    for round_ in ("first", "second"):
        index = len(world.runs())
        asked = time.monotonic()
        world.command()
        times[f"{round_} pre-trained"] = world.wait_thread("*Pre-trained*", index=index) - asked
        times[f"{round_} report"] = world.wait_thread("*Results*", index=index) - asked
        world.wait_idle()
    print("\n/finetune, 8 usable images of 2 labels, 3 s per arm: " +
          ", ".join(f"{what} {seconds:.1f} s" for what, seconds in times.items()))
    assert "Done" in _progress_texts(world)[-1]
    assert engine.restarts == 0  # one warm process served both

    first, second = world.runs()
    progress = _progress_texts(world)
    assert any("downloading" in t for t in progress)
    assert any("embedding" in t.lower() or "training" in t.lower() for t in progress)
    top = world.slack.messages(world.channel)[-1]
    assert top["text"] == progress[-1] and top["user"] == world.slack.bot_user_id

    for run in (first, second):
        assert run.status is RunStatus.DONE and store.head_for_run(world.ctx.db, run.id)
        assert run.report is not None and run.report["images_per_class"] == {"cat": 4, "coffee": 4}
        assert run.report["worker"]["pid"] == engine.pid and run.report["worker"]["engine"] == "local"
    assert first.report is not None and second.report is not None
    texts = world.thread_texts(first)
    # Streamed: the pre-trained arm's result, the scratch arm's progress, then the results.
    pre_at = next(i for i, t in enumerate(texts) if t.startswith("*Pre-trained*"))
    scratch_at = next(i for i, t in enumerate(texts) if "*From scratch*:" in t)
    report_at = next(i for i, t in enumerate(texts) if t.startswith("*Results*"))
    assert pre_at < scratch_at < report_at
    report = texts[report_at]
    assert "on *cpu*" in report and "*Pre-trained*" in report and "*From scratch*" in report
    assert "*From scratch needed" in report and "pre-trained had" in report
    assert "`cat` 4, `coffee` 4" in report
    for reason in [SkipReason.NOT_IMAGE, SkipReason.CORRUPT, SkipReason.TOO_MANY_PIXELS,
                   SkipReason.TOO_LARGE]:
        assert f"• {reason.value}: 1" in report, reason
    charts = world.slack.uploaded_files(world.channel)
    assert len(charts) == 2 and all(c["mimetype"] == "image/png" for c in charts)
    assert world.slack.file_content(charts[0]["id"]).startswith(b"\x89PNG")
    chart_message = next(m for m in world.slack.replies(world.channel, first.thread_ts)
                         if m.get("files") and m["files"][0]["id"] == charts[0]["id"])
    # Slack tells the bot about its own upload too: that image is neither training data nor a query.
    world.sender.event(world.slack.message_event(world.channel, chart_message))

    # The deck question the demo acts out, with its options and how to answer it.
    question = next(t for t in texts if "saves the most time" in t)
    assert "*C.* Use a pre-trained model and fine-tune only its last layer on your data" in question
    assert "reply in this thread with one letter (A, B, C, D)" in question
    assert "`/tutor join pretrained-models-cv`" in question

    def feedback(user: str) -> list[str]:
        return [e["text"] for e in world.slack.ephemerals(world.channel, user)]

    answer = world.post(text="C", user=BOB, thread_ts=first.thread_ts)
    world.slack.wait_for(lambda: feedback(BOB), 10, what="the feedback to Bob's answer")
    world.sender.event(answer, retry_num=1)
    world.post(text="b)", user=BOB, thread_ts=first.thread_ts)
    world.post(text="b)", user=ALICE, thread_ts=first.thread_ts)
    world.slack.wait_for(lambda: len(feedback(BOB)) == 2 and feedback(ALICE), 10)
    assert feedback(BOB)[0].startswith(":white_check_mark: *Right!* *C.*")
    assert feedback(BOB)[1].startswith("You already answered C; your first answer stands.")
    assert feedback(ALICE)[0].startswith(":x: *Not quite.* You chose *B.*")
    assert "*Answer:* *C.*" in feedback(ALICE)[0]

    # A reply in the first thread while a third demo runs: labelled beside it, not behind it.
    world.command()
    world.wait_thread("*Pre-trained*", index=2)
    asked = time.monotonic()
    world.post(("mystery.jpg", cat(5)), thread_ts=first.thread_ts, user=BOB)
    labelled = world.wait_thread("`mystery.jpg`: *cat*", index=0, timeout=60) - asked
    assert world.runs()[2].status is RunStatus.RUNNING  # the demo was still training
    world.wait_idle()
    print(f"a reply's label while a demo ran: {labelled:.2f} s")

    # The bot restarts: the thread still answers, with the head kept in the database.
    app2 = build_app(world.ctx)
    with WsgiServer(SlackRequestHandler(app2)) as server:
        world.sender = SlackSender(server.url + "/slack/events", SECRET, slack=world.slack)
        world.app = app2
        asked = time.monotonic()
        event = world.post(("again.jpg", coffee(5)), thread_ts=second.thread_ts, user=BOB)
        world.sender.event(event, retry_num=1)  # a retry classifies nothing twice
        labelled = world.wait_thread("`again.jpg`: *coffee*", index=1, timeout=60) - asked
        world.wait_idle(60)
        print(f"a reply's label after a restart, warm worker idle: {labelled:.2f} s")
        answers = [t for t in world.thread_texts(second) if "again.jpg" in t]
        assert len(answers) == 1
        assert not any("finetune-chart" in t for t in world.thread_texts(second))
        assert store.classification(world.ctx.db, world.channel, charts[0]["id"]) is None
        app2.finetune_flow.shutdown()  # type: ignore[attr-defined]


def test_a_worker_killed_mid_demo_is_said_and_the_next_demo_runs(world: World, worker: WarmWorker) -> None:
    world.post_photos()
    other = world.slack.add_channel("vision-2", members=[ALICE, BOB])
    world.post_photos(channel=other)
    world.command()
    world.wait_thread("*Pre-trained*")  # the first demo is training from scratch now
    world.command(channel=other)
    world.slack.wait_for(lambda: any("number 1 in the queue" in t for t in _progress_texts(world)), 30,
                         what="the second demo's place in the queue")
    pid = worker.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # what the kernel's out-of-memory killer does
    world.wait_idle()
    killed, = world.runs()
    expected = ("the worker running the demo was killed by the system, most likely because it ran out of "
                "memory; it has been restarted")
    assert killed.status is RunStatus.FAILED and killed.error == expected
    assert world.thread_texts(killed)[-1].startswith(f"The demo did not finish: {expected}.")
    queued, = world.runs(other)
    assert queued.status is RunStatus.DONE, queued.error  # ran on the restarted worker
    assert queued.report is not None and queued.report["worker"]["pid"] not in (pid, None)
