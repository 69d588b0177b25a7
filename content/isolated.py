"""Read an uploaded deck in a child process, with a time and a memory limit.

The Slack app imports decks that members upload. Parsing is linear, but it is pure Python: on a
thread of the bot's own process it holds the GIL, and Bolt answers every other member's request
(ack within 3 s) from threads of that same process. A spawned child has its own interpreter, so
the bot's threads keep running while it reads; whatever the file does to the child (take too long,
eat memory, crash it) ends as a DeckFormatError with a sentence, and the child is killed.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from multiprocessing.connection import Connection

from content.loader import LoadedDeck, load_deck_text
from content.model import DeckFormatError

log = logging.getLogger(__name__)

TIME_LIMIT_S = 30.0  # a 1 MB recap reads in well under a second
MEMORY_LIMIT_BYTES = 2 << 30  # the child's address space (interpreter included)

_Outcome = tuple[str, object]  # ("deck", LoadedDeck) | ("format", message) | ("memory" | "crash", detail)


def _read(conn: Connection, text: str, filename: str, memory_limit: int) -> None:
    """The child: parse and lint, send back the outcome, never raise."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    except (ImportError, ValueError, OSError):  # not on this platform: the time limit still holds
        pass
    outcome: _Outcome
    try:
        outcome = ("deck", load_deck_text(text, filename=filename))
    except DeckFormatError as exc:
        outcome = ("format", str(exc))
    except MemoryError:
        outcome = ("memory", "")
    except Exception as exc:  # a reader bug: reported to the admin, the bot goes on
        outcome = ("crash", f"{type(exc).__name__}: {exc}")
    conn.send(outcome)
    conn.close()


def load_deck_text_in_child(text: str, *, filename: str, time_limit_s: float = TIME_LIMIT_S,
                            memory_limit: int = MEMORY_LIMIT_BYTES) -> LoadedDeck:
    """`content.loader.load_deck_text` run in a spawned process; DeckFormatError (with a sentence
    for the admin) when the text is not a deck, or reading it exceeds the time or memory limit."""
    context = mp.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_read, args=(sender, text, filename, memory_limit), daemon=True,
                            name="tutor-deck-reader")
    child.start()
    sender.close()  # the child holds its own end: EOF here once it exits
    try:
        if not receiver.poll(time_limit_s):
            raise DeckFormatError(f"reading it took longer than {time_limit_s:g} s, so I stopped; a deck "
                                  "reads in about a second: check that the file is a recap page (.txt) or "
                                  "a YAML or JSON deck")
        try:
            kind, value = receiver.recv()
        except EOFError:  # it died without a word (killed, or out of memory before Python noticed)
            child.join(5)
            kind, value = "crash", f"the reader process ended with code {child.exitcode}"
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        receiver.close()
    if kind == "deck":
        assert isinstance(value, LoadedDeck)
        return value
    if kind == "format":
        raise DeckFormatError(str(value))
    if kind == "memory":
        raise DeckFormatError(f"reading it needed more than {memory_limit >> 20:,} MiB of memory, so I "
                              "stopped; a deck is a recap page (.txt) or a YAML or JSON deck")
    log.error("reading the deck %s failed: %s", filename, value)
    raise DeckFormatError(f"it could not be read ({value}); the error is in the bot's log")
