"""Decks, cards and learners in SQLite: import, re-import, retire/restore, persistence across reopen."""

import sqlite3
from dataclasses import replace
from datetime import time, timedelta

import pytest
from tutor_helpers import MONDAY, flashcard, make_deck, make_tutor, mcq

from bot.tutor import Rating, TutorError
from content.model import Deck, MultipleChoice
from storage import reviews as review_store
from storage.db import open_db


def test_import_stores_every_card_with_its_stable_id(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    deck = make_deck("cv")
    result = tutor.import_deck(deck, source="built in a test")
    assert (result.added, result.updated, result.retired, result.unchanged) == (7, 0, 0, 0)
    stored = tutor.deck("cv")
    assert [c.id for c in stored.cards] == [c.id for c in deck.cards]
    assert stored.cards == deck.cards and stored.title == "Deck cv" and stored.desired_retention == 0.9
    [summary] = tutor.decks()
    assert (summary.slug, summary.cards, summary.learners) == ("cv", 7, 0)


def test_same_text_imported_again_keeps_ids_and_history(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(make_deck("cv"))
    card = make_deck("cv").cards[0]
    tutor.grade("ana", "cv", card.id, Rating.GOOD, seq=1, now=MONDAY)
    again = tutor.import_deck(make_deck("cv"))
    assert (again.added, again.updated, again.retired, again.unchanged) == (0, 0, 0, 7)
    assert tutor.next_seq("ana", "cv", card.id) == 2
    assert len(review_store.reviews_of(tutor.db, "ana")) == 1


def test_changed_explanations_update_the_card_but_not_its_id(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    deck = make_deck("cv", flashcards=0, mcqs=2, prompts=0)
    tutor.import_deck(deck)
    first = deck.cards[0]
    assert isinstance(first, MultipleChoice)
    tutor.answer_choice("ana", "cv", first.id, 1, seq=1, now=MONDAY)
    edited = replace(first, hint="a better hint", solution=("step one", "step two"))
    assert edited.id == first.id
    result = tutor.import_deck(replace(deck, cards=(edited, deck.cards[1])))
    assert (result.added, result.updated, result.unchanged) == (0, 1, 1)
    stored = tutor.deck("cv").card(first.id)
    assert isinstance(stored, MultipleChoice) and stored.hint == "a better hint"
    assert stored.solution == ("step one", "step two")
    assert tutor.next_seq("ana", "cv", first.id) == 2


def test_a_card_gone_from_the_deck_is_retired_and_comes_back_with_its_history(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    deck = make_deck("cv", flashcards=3, mcqs=0, prompts=0)
    tutor.import_deck(deck)
    tutor.join("ana", "cv", new_per_day=10)
    gone = deck.cards[1]
    tutor.grade("ana", "cv", gone.id, Rating.GOOD, seq=1, now=MONDAY)
    edited_text = replace(gone, front="an edited front?")  # new text, new id: the old card retires
    result = tutor.import_deck(replace(deck, cards=(deck.cards[0], edited_text, deck.cards[2])))
    assert (result.added, result.retired, result.unchanged) == (1, 1, 2)
    assert [c.id for c in tutor.deck("cv").cards] == [deck.cards[0].id, edited_text.id, deck.cards[2].id]
    # Retired: not due, not gradable, but its history stays.
    later = MONDAY + timedelta(days=30)
    assert gone.id not in {i.card.id for i in tutor.due_cards("ana", later)}
    assert len(review_store.reviews_of(tutor.db, "ana")) == 1
    with pytest.raises(TutorError, match="removed"):
        tutor.grade("ana", "cv", gone.id, Rating.GOOD, seq=2, now=later)
    # The old text comes back: restored, with its state, so it is due again.
    back = tutor.import_deck(deck)
    assert (back.added, back.restored, back.retired) == (1, 1, 1)
    assert gone.id in {i.card.id for i in tutor.due_cards("ana", later) if not i.is_new}
    assert tutor.next_seq("ana", "cv", gone.id) == 2


def test_retention_is_stored_per_deck_and_updated_by_reimport(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    tutor.import_deck(make_deck("a", retention=0.85))
    tutor.import_deck(make_deck("b"))
    assert {d.slug: d.desired_retention for d in tutor.decks()} == {"a": 0.85, "b": 0.9}
    tutor.import_deck(make_deck("a", retention=0.95))
    assert tutor.deck("a").desired_retention == 0.95


def test_a_deck_with_lint_errors_is_refused_and_nothing_is_stored(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    keyless = replace(mcq(0, "x"), answer=None)
    bad = Deck(slug="x", title="X", cards=(flashcard(0, "x"), keyless))
    with pytest.raises(TutorError, match="no answer key"):
        tutor.import_deck(bad)
    assert tutor.decks() == []
    with pytest.raises(TutorError, match="no deck 'x'"):
        tutor.deck("x")


def test_everything_survives_closing_and_reopening_the_file(tmp_path):
    path = tmp_path / "t.db"
    tutor = make_tutor(path)
    deck = make_deck("cv")
    tutor.import_deck(deck)
    tutor.ensure_learner("ana", name="Ana", tz="Europe/Berlin")
    tutor.join("ana", "cv", new_per_day=2, reviews_per_day=7)
    tutor.set_delivery_time("ana", time(7, 45))
    first = tutor.grade("ana", "cv", deck.cards[0].id, Rating.EASY, seq=1, now=MONDAY)
    state = review_store.get_state(tutor.db, "ana", "cv", deck.cards[0].id)
    tutor.db.conn.close()

    reopened = make_tutor(path)
    learner = reopened.learner("ana")
    assert learner is not None
    assert (learner.name, learner.tz, learner.delivery_time, learner.decks) == \
        ("Ana", "Europe/Berlin", time(7, 45), ("cv",))
    assert reopened.deck("cv").cards == deck.cards
    assert review_store.get_state(reopened.db, "ana", "cv", deck.cards[0].id) == state
    again = reopened.grade("ana", "cv", deck.cards[0].id, Rating.EASY, seq=1, now=MONDAY)
    assert again.duplicate and again.due == first.due
    # Limits came back too: 1 new card left today of 2.
    assert [i.is_new for i in reopened.due_cards("ana", MONDAY)] == [True]


def test_schema_refuses_rows_that_make_no_sense(tmp_path):
    db = open_db(tmp_path / "t.db")
    with pytest.raises(sqlite3.IntegrityError):
        db.conn.execute("INSERT INTO decks (slug, title, desired_retention, imported_at)"
                        " VALUES ('x', 'X', 1.5, '2025-01-01T00:00:00.000000+00:00')")
    with pytest.raises(sqlite3.IntegrityError):  # a state for a card that does not exist
        db.conn.execute("INSERT INTO learners (user_id, tz, created_at) VALUES ('u', 'UTC', 'now')")
        db.conn.execute("INSERT INTO card_states (user_id, deck, card_id, state, due) VALUES"
                        " ('u', 'nodeck', 'fc-1', 2, '2025-01-01T00:00:00.000000+00:00')")
