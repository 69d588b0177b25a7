"""What hostile input costs the bot (issue 8). Prints:

* recap: parse + lint time of the hostile recap page (tests/hostile_data.py: long runs of spaces
  between tokens, many `->`, `=` and `[OK]` in a line, thousands of wrapped lines) at 10 kB,
  100 kB and 1 MB, and the time per MB at each size (flat when the work is linear);
* decks: a 1 MB JSON deck and a 1 MB YAML deck of plain cards (the line-aware readers), and a
  100,000-deep JSON deck (refused before any parser recurses);
* body: the resident memory (VmRSS) of a real `tutor serve --http` process before and after an
  unsigned 50 MB POST to /slack/events, sent with a Content-Length and again chunked;
* PNGs: the resident memory of the same `tutor serve --http` before /finetune and after its demo
  over four 36-megapixel PNGs of about 120 kB each (and three small photos), posted in a channel
  (finding 8 of issue 8): the bot checks them from their headers; they are decoded in its worker
  process, whose memory is not the bot's.

    python bench/hostile_inputs.py [--skip-serve]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bot_process import post_stream, running_bots  # noqa: E402  (tests/ holds the helpers, the stand-in)
from hostile_data import hostile_recap, poster_png  # noqa: E402
from slack_harness import sample_deck  # noqa: E402
from slack_standin import SlackStandin  # noqa: E402

from bot.tutor import Tutor  # noqa: E402
from content.loader import load_deck_text  # noqa: E402
from content.model import DeckFormatError  # noqa: E402
from storage.db import open_db  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
BODY_BYTES = 50_000_000


def timed(text: str, name: str) -> tuple[float, str]:
    """Seconds to load and lint `text`, and what came of it."""
    started = time.perf_counter()
    try:
        outcome = load_deck_text(text, filename=name).summary()
    except DeckFormatError as exc:
        outcome = f"refused: {exc}"
    return time.perf_counter() - started, outcome


def recap_figures() -> None:
    print("hostile recap, parse + lint:")
    for size in SIZES:
        seconds, _ = timed(hostile_recap(size), "hostile.txt")
        print(f"  {size / 1000:>6,.0f} kB  {seconds:7.3f} s  ({seconds / (size / 1e6):6.3f} s per MB)")


def deck_figures() -> None:
    cards = [{"kind": "flashcard", "front": f"Front {i}?", "back": "Back."} for i in range(20_000)]
    text = json.dumps({"slug": "big", "title": "Big", "cards": cards}, indent=1)
    text = text[:text.rindex("{", 0, 1_000_000)].rstrip().rstrip(",") + "]}"  # about 1 MB, still JSON
    yaml_text = "deck: big\ntitle: Big\ncards:\n" + "".join(
        f"  - type: flashcard\n    front: Front {i}?\n    back: Back.\n" for i in range(30_000))
    yaml_text = yaml_text[:yaml_text.rindex("  - type", 0, 1_000_000)]
    deep = '{"cards": ' + "[" * 100_000 + "]" * 100_000 + "}"
    print("decks, load + lint:")
    for label, body, name in (("JSON deck", text, "big.json"), ("YAML deck", yaml_text, "big.yaml"),
                              ("100,000-deep JSON", deep, "deep.json")):
        seconds, outcome = timed(body, name)
        print(f"  {label:<18} {len(body) / 1e6:5.2f} MB  {seconds:7.3f} s  {outcome[:70]}")


def body_figures() -> None:
    with tempfile.TemporaryDirectory() as folder, SlackStandin() as slack, \
            running_bots(slack, Path(folder)) as bots:
        db = open_db(bots.db_path)
        Tutor(db).import_deck(sample_deck())
        db.conn.close()
        bot = bots.start()
        time.sleep(1.0)  # let start-up settle (the scheduler's first tick)
        before = bot.rss_bytes()
        sized = post_stream(bot.port, BODY_BYTES)
        after_sized = bot.rss_bytes()
        chunked = post_stream(bot.port, BODY_BYTES, chunked=True)
        after_chunked = bot.rss_bytes()
    print(f"tutor serve --http, unsigned {BODY_BYTES / 1e6:.0f} MB POST to /slack/events:")
    print(f"  RSS before                 {before / 1e6:7.1f} MB")
    for label, rss, status in (("after, with Content-Length", after_sized, sized),
                               ("after, chunked", after_chunked, chunked)):
        print(f"  {label:<26} {rss / 1e6:7.1f} MB  (answer: {status or 'connection closed early'})")


def png_figure() -> None:
    from finetune_world import ALICE, cat

    png = poster_png()
    with tempfile.TemporaryDirectory() as folder, SlackStandin() as slack, \
            running_bots(slack, Path(folder)) as bots:
        slack.add_user(ALICE, name="alice")
        channel = slack.add_channel("vision", members=[ALICE])
        bot = bots.start(env={"TUTOR_FINETUNE_BUDGET": "1"})
        files = [(f"poster_{i}.png", png, "image/png") for i in range(4)]
        files += [(f"cat_{i}.jpg", cat(i), "image/jpeg") for i in range(3)]
        for name, content, mimetype in files:
            shared = slack.add_file(content, name=name, mimetype=mimetype, user=ALICE)
            message = slack.post_user_message(channel, ALICE, "", files=[shared])
            bot.sender.event(slack.message_event(channel, message))
        time.sleep(1.0)  # the events are acknowledged first, recorded just after
        before = bot.rss_bytes()
        bot.sender.command("/finetune", "", user_id=ALICE, channel_id=channel)

        def finished() -> bool:
            posted = [m for m in slack.messages(channel) if m.get("user") == slack.bot_user_id]
            return bool(posted) and any(word in posted[-1]["text"] for word in ("Done", "did not finish"))

        slack.wait_for(finished, 300, what="the demo over the posters to end")
        after = bot.rss_bytes()
        outcome = [m for m in slack.messages(channel) if m.get("user") == slack.bot_user_id][-1]["text"]
    print(f"tutor serve --http, /finetune over four {len(png) / 1e3:.0f} kB PNGs of 6000x6000 and 3 photos:")
    print(f"  RSS before /finetune       {before / 1e6:7.1f} MB")
    print(f"  RSS after its demo         {after / 1e6:7.1f} MB  ({outcome.splitlines()[-1][:60]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-serve", action="store_true", help="leave out the tutor serve process figures")
    args = parser.parse_args()
    recap_figures()
    deck_figures()
    if not args.skip_serve:
        body_figures()
    png_figure()


if __name__ == "__main__":
    main()
