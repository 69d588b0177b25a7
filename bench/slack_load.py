"""Load on the Slack app: members answering their daily review over HTTP, and a delivery of 10,000 DMs.

The bot runs here for real (waitress + Bolt at /slack/events, SQLite in a temporary folder); Slack is
the stand-in from tests/, run in a child process so its work is not counted as the bot's. Requests
are signed like Slack's. Prints:

* members phase: N members (default 200, 32 at a time) each click through their whole review
  (show answer, grade, choose, next), waiting for the message to change after each click like a
  person would: clicks acknowledged per second, ack latency p50 / p99 / max (Slack allows 3 s);
* delivery phase: one daily delivery of D DMs (default 10,000) with pacing off (Slack's own rate
  limits are not part of the figure): wall time, DMs per second, and the bot process's CPU seconds;
* the bot process's peak resident memory (ru_maxrss), then tracemalloc's peak of Python objects
  during a delivery of 1,000 DMs (traced separately: tracing slows everything down).

    python bench/slack_load.py [--members 200] [--dms 10000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from slack_requests import SlackSender  # noqa: E402  (tests/ holds the stand-in and the sender)

from bot.config import Settings  # noqa: E402
from bot.slack.app import build_app, services_of  # noqa: E402
from bot.slack.client import make_client  # noqa: E402
from bot.slack.context import AppContext  # noqa: E402
from bot.slack.delivery import run_due_deliveries  # noqa: E402
from bot.slack.serve import start_http  # noqa: E402
from bot.tutor import Tutor  # noqa: E402
from content.loader import load_deck_file  # noqa: E402
from storage.db import open_db  # noqa: E402

SECRET = "bench-secret"
DECK = ROOT / "content" / "decks" / "pretrained-models-cv.yaml"
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def user_ids(count: int) -> list[str]:
    return [f"U0B{i:07d}" for i in range(count)]


def standin_process(conn: Any, count: int) -> None:
    """The stand-in Slack, in a child process: serve until told to stop."""
    from slack_standin import SlackStandin

    with SlackStandin() as slack:
        for user in user_ids(count):
            slack.add_user(user, name=user.lower())
        conn.send(slack.api_url)
        conn.recv()


class Slack:
    """A stand-in in a child process; `api_url` for the bot's client."""

    def __init__(self, users: int) -> None:
        self._conn, child = mp.Pipe()
        self._process = mp.get_context("fork").Process(target=standin_process, args=(child, users),
                                                       daemon=True)
        self._process.start()
        self.api_url: str = self._conn.recv()

    def close(self) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)


def bot(api_url: str, folder: Path, users: list[str]) -> tuple[AppContext, Any]:
    """A tutor database with `users` enrolled, due at 04:00 UTC (so all due at NOW)."""
    settings = Settings(db_path=str(folder / "tutor.db"), slack_bot_token="xoxb-test",
                        slack_signing_secret=SECRET, slack_api_url=api_url, dm_rate_per_s=0.0)
    db = open_db(settings.db_path)
    tutor = Tutor(db)
    tutor.import_deck(load_deck_file(DECK).deck)
    for user in users:
        tutor.ensure_learner(user, tz="UTC")
        tutor.join(user, "pretrained-models-cv")
        tutor.set_delivery_time(user, clock_time(4, 0))
    ctx = AppContext(settings=settings, db=db, tutor=tutor, clock=lambda: NOW)
    return ctx, make_client(settings)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def review_as_member(sender: SlackSender, client: Any, channel: str, user: str) -> list[float]:
    """Click through the member's DM review; returns each click's ack latency (seconds)."""
    latencies = []
    for _ in range(60):
        message = client.conversations_history(channel=channel, limit=1)["messages"][0]
        found = {e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions"
                 for e in b["elements"]}
        if not found:
            return latencies
        action = next(a for a in ("review_show", "review_grade_3", "review_next", "review_choice_0",
                                  "review_choice_1") if a in found)
        edited = message.get("edited", {}).get("ts")
        reply = sender.block_action(user_id=user, channel_id=channel, message=message, action_id=action)
        assert reply.status == 200, reply.text
        latencies.append(reply.elapsed_s)
        for _ in range(500):  # a person reads the new card before clicking again
            again = client.conversations_history(channel=channel, limit=1)["messages"][0]
            if again.get("edited", {}).get("ts") != edited:
                break
            time.sleep(0.01)
    raise RuntimeError(f"{user}'s review did not end")


def members_phase(count: int, concurrency: int) -> None:
    slack = Slack(count)
    users = user_ids(count)
    with tempfile.TemporaryDirectory() as folder:
        ctx, client = bot(slack.api_url, Path(folder), users)
        app = build_app(ctx, client=client)
        svc = services_of(app)
        server = start_http(app, threads=32)
        started = time.perf_counter()
        report = run_due_deliveries(svc, client)
        print(f"members: {report.sent} daily DMs sent in {time.perf_counter() - started:.2f} s")
        sender = SlackSender(server.url + "/slack/events", SECRET)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            runs = list(pool.map(lambda u: review_as_member(sender, client, svc.state.dm_channel(u) or "", u),
                                 users))
        elapsed = time.perf_counter() - started
        latencies = [x for run in runs for x in run]
        reviews = sum(ctx.tutor.stats(u, NOW).reviewed_today for u in users)
        print(f"members: {count} members ({concurrency} at a time) made {len(latencies)} clicks, "
              f"{reviews} reviews stored, in {elapsed:.1f} s: {len(latencies) / elapsed:.0f} acks/s")
        print(f"members: ack latency p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms "
              f"(mean {statistics.mean(latencies) * 1000:.1f} ms; Slack's limit is 3000 ms)")
        server.close()
    slack.close()


def delivery_phase(count: int, *, traced: bool = False) -> None:
    slack = Slack(count)
    users = user_ids(count)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        ctx, client = bot(slack.api_url, Path(folder), users)
        print(f"delivery: {count} members enrolled in {time.perf_counter() - started:.1f} s (setup)")
        app = build_app(ctx, client=client)
        svc = services_of(app)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        report = run_due_deliveries(svc, client)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        if traced:
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"memory: tracemalloc during a delivery of {report.sent} DMs: peak {peak / 2**20:.1f} MiB"
                  f" of Python objects, {current / 2**20:.1f} MiB still held after it")
            slack.close()
            return
        cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
        sent = sum(1 for d in svc.state.deliveries() if d.status == "sent")
        print(f"delivery: {report.sent} DMs sent ({sent} recorded, {report.failed} failed) in {elapsed:.1f} s"
              f" with pacing off: {report.sent / elapsed:.0f} DMs/s; the bot used {cpu:.1f} CPU s "
              f"({cpu / max(1, report.sent) * 1000:.2f} ms a DM); at the default 20/s pacing it would take "
              f"{report.sent / 20 / 60:.1f} min")
        started = time.perf_counter()
        again = run_due_deliveries(svc, client)
        took = time.perf_counter() - started
        print(f"delivery: a second tick the same minute sent {again.sent} DMs in {took:.2f} s")
    slack.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--dms", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    members_phase(args.members, args.concurrency)
    delivery_phase(args.dms)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bot process: peak resident memory {peak_rss:.0f} MiB (ru_maxrss)")
    delivery_phase(min(args.dms, 1000), traced=True)


if __name__ == "__main__":
    main()
