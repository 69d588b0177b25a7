"""`tutor deck export DECK --format apkg --user NAME`: the member's review history and FSRS memory state
go into the package; the real `anki` package imports it into a fresh collection with the same due
dates and review counts."""

from __future__ import annotations

import os
import random
import time as clock
from datetime import UTC, datetime, timedelta
from pathlib import Path

import genanki
import pytest
from tutor_helpers import REPO, make_tutor

from bot.anki_export import member_progress
from bot.cli import main
from bot.learning_day import learning_day
from bot.tutor import Rating, Tutor
from content.export import export_deck
from content.loader import load_deck_file
from content.model import MultipleChoice, Prompt
from storage import reviews as review_store

SHIPPED = REPO / "content" / "decks" / "pretrained-models-cv.yaml"


@pytest.fixture
def utc_process(monkeypatch):
    """Anki counts days in the process's local zone: make it UTC, the member's zone here."""
    monkeypatch.setenv("TZ", "UTC")
    clock.tzset()
    yield
    monkeypatch.undo()
    clock.tzset()


def study_a_month(tutor: Tutor, user: str, end: datetime) -> None:
    """A month of daily sessions ending at `end`: everything due, graded at random."""
    rng = random.Random(7)
    start = end - timedelta(days=30)
    for day in range(31):
        now = start + timedelta(days=day)
        for item in tutor.due_cards(user, now):
            if isinstance(item.card, MultipleChoice):
                choice = 0 if rng.random() < 0.2 else item.card.answer or 0  # mostly right
                tutor.answer_choice(user, item.deck, item.card.id, choice, seq=item.seq, now=now,
                                    duration_ms=rng.randint(3000, 90_000), source="dm")
            elif isinstance(item.card, Prompt):  # graded by the concepts its answer covers
                tutor.answer_prompt(user, item.deck, item.card.id, item.card.model_answer or "no idea",
                                    seq=item.seq, now=now, duration_ms=40_000, source="dm")
            else:
                rating = Rating(rng.choices((1, 2, 3, 4), (1, 2, 6, 1))[0])
                tutor.grade(user, item.deck, item.card.id, rating, seq=item.seq, now=now, duration_ms=9000)


def import_into_anki(package: Path, where: Path):
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    collection = Collection(str(where / "fresh.anki2"))
    collection.import_anki_package(ImportAnkiPackageRequest(
        package_path=str(package),
        options=ImportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True)))
    return collection


def test_anki_continues_where_the_member_left_off(tmp_path, utc_process):
    pytest.importorskip("anki")
    tutor = make_tutor(tmp_path / "t.db")
    deck = load_deck_file(SHIPPED).deck
    tutor.import_deck(deck)
    tutor.ensure_learner("ana", tz="UTC")
    tutor.join("ana", deck.slug)
    now = datetime.now(UTC).replace(microsecond=0)
    study_a_month(tutor, "ana", now)
    states = {s.card_id: s for s in review_store.states_of(tutor.db, "ana", deck.slug)}
    log = review_store.reviews_of(tutor.db, "ana", deck.slug)
    assert len(states) >= 10 and len(log) > len(states)  # cards seen, most more than once

    package = export_deck(tutor.deck(deck.slug), "apkg", tmp_path / "ana.apkg",
                          progress=member_progress(tutor, "ana", deck.slug))
    collection = import_into_anki(package, tmp_path)
    try:
        today = learning_day(now, "UTC")
        note_of = {genanki.guid_for(c.id): c.id for c in deck.cards}
        seen = 0
        for anki_id in collection.find_cards(""):
            card = collection.get_card(anki_id)
            card_id = note_of[card.note().guid]
            state = states.get(card_id)
            if state is None:
                assert (card.type, card.reps) == (0, 0)  # new in tutor: new in Anki
                continue
            seen += 1
            due_day = today + timedelta(days=card.due - collection.sched.today)
            assert due_day == learning_day(state.due, "UTC"), card_id
            assert (card.reps, card.lapses) == (state.reps, state.lapses)
            assert collection.db.scalar("SELECT count(*) FROM revlog WHERE cid = ?", anki_id) == state.reps
            assert card.queue == (-1 if state.suspended_at is not None else 2)
            assert card.memory_state is not None
            assert card.memory_state.stability == pytest.approx(state.stability, abs=1e-3)
            assert card.memory_state.difficulty == pytest.approx(state.difficulty, abs=1e-3)
        assert seen == len(states)
        assert collection.db.scalar("SELECT count(*) FROM revlog") == len(log)
        grades = sorted(collection.db.list("SELECT ease FROM revlog"))
        assert grades == sorted(r.rating for r in log)  # the 4-button grades as they were
        config = collection.decks.config_dict_for_deck_id(collection.decks.id_for_name(deck.title))
        parameters = member_progress(tutor, "ana", deck.slug).parameters
        assert config["fsrsParams6"] == pytest.approx(list(parameters))
    finally:
        collection.close()


def test_export_with_a_member_from_the_command_line(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "t.db")
    monkeypatch.delenv("TUTOR_DB", raising=False)
    assert main(["--db", db, "deck", "import", str(SHIPPED)]) == 0
    code = main(["--db", db, "deck", "export", "pretrained-models-cv", "--format", "apkg", "--user", "nobody",
                 "-o", str(tmp_path)])
    assert code == 1 and "not a learner" in capsys.readouterr().err
    assert main(["--db", db, "deck", "export", "pretrained-models-cv", "--format", "yaml", "--user", "ana",
                 "-o", str(tmp_path)]) == 2
    assert "--format apkg" in capsys.readouterr().err
    tutor = make_tutor(Path(db))
    tutor.join("ana", "pretrained-models-cv")
    monday = datetime(2025, 3, 3, 8, 30, tzinfo=UTC)
    first = tutor.due_cards("ana", monday)[0]
    tutor.grade("ana", first.deck, first.card.id, Rating.GOOD, seq=1, now=monday)
    out = tmp_path / "ana.apkg"
    assert main(["--db", db, "deck", "export", "pretrained-models-cv", "--format", "apkg", "--user", "ana",
                 "-o", str(out)]) == 0
    assert Path(capsys.readouterr().out.strip().splitlines()[-1]) == out and os.path.getsize(out) > 0
