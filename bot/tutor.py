"""The Slack-free learning loop: what is due for whom, grading, scheduling with FSRS, stats.

The CLI and the Slack app are written against this API. All SQL is in storage/ (decks, learners,
reviews, review_stats); scheduling of one card is bot/srs.py; the learning day is bot/learning_day.py.

Time: every `now` is a timezone-aware datetime (UTC or any zone; converted internally). A learner's
*learning day* is their local date with the day starting at 04:00 local time (as Anki does):
01:30 on Tuesday local belongs to Monday's learning day.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import sqlite_utils

from bot import learning_day as days
from bot import memory_models
from bot.concepts.grade import ConceptGrade
from bot.concepts.grading import PromptGrader, grade_lexically
from bot.explain import PromptResult, rating_for
from bot.grading import MEDIAN_OF, TIMED_SOURCES, grade_choice
from bot.planning import DeckCards, learner_stats, plan_due, schedule_plan
from bot.srs import Plan, Srs
from bot.tutor_types import (
    CardStats,
    DeckSummary,
    DueItem,
    ImportResult,
    Learner,
    LearnerStats,
    Rating,
    ReviewResult,
    TutorError,
)
from bot.zones import ZoneFallback
from content.lint import Severity, lint_deck
from content.model import NORMAL_WEEK, Card, CardKind, Deck, MultipleChoice, Prompt, PromptMode
from storage import decks as deck_store
from storage import learners as learner_store
from storage import learning as learning_store
from storage import review_stats
from storage import reviews as review_store
from storage.db import transaction
from storage.reviews import ReviewRecord
from storage.timefmt import iso

__all__ = ["CardStats", "DeckSummary", "DueItem", "ImportResult", "Learner", "LearnerStats", "Rating",
           "ReviewResult", "Tutor", "TutorError", "SOURCES"]

# Where an answer came from, as stored in the review log. A new source (another way to answer) is
# added here and passed to `_record` by the method that grades it; nothing else needs to change.
SOURCES = ("cli", "dm", "channel", "import")
MAX_PER_DAY = 1000


class Tutor:
    """One tutor over one database. Thread-safe for use by a web server's threads (one lock around
    the shared connection); several processes on one file are safe through SQLite's own locking.

    `fuzzing` (default on) spreads due dates over FSRS's fuzz range, deterministically (bot/srs.py);
    tests turn it off to get exact intervals. FSRS's parameters for each member and deck come from
    bot.memory_models (a member's own fit, the deck's team prior, or the defaults). `grader` grades
    answers to open prompts (bot/concepts/grading.py: the Slack app grades through its worker, the
    terminal in its own process; the default, grade_lexically, matches words and says so)."""

    def __init__(self, db: sqlite_utils.Database, *, default_tz: str = "UTC", fuzzing: bool = True,
                 grader: PromptGrader = grade_lexically) -> None:
        self.db = db
        self.grader = grader
        self.default_tz = self._zone_name(default_tz)
        self.srs = Srs(fuzzing=fuzzing)
        self.lock = threading.RLock()
        self._decks: dict[str, DeckCards] = {}
        self._stored_zones = ZoneFallback()

    # decks --------------------------------------------------------------------------------
    def import_deck(self, deck: Deck, *, source: str | None = None,
                    now: datetime | None = None) -> ImportResult:
        """Store the deck: new cards added, changed explanations updated, cards gone retired (their
        history kept), returning cards restored; one transaction. Refuses a deck with lint errors."""
        errors = [i for i in lint_deck(deck) if i.severity is Severity.ERROR]
        if errors:
            shown = "; ".join(i.describe() for i in errors[:5])
            more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
            raise TutorError(f"deck {deck.slug!r} has {len(errors)} error(s), not imported: {shown}{more}")
        records = [deck_store.CardRecord(card_id=c.id, kind=c.kind.value, data=c.to_dict(),
                                         scheduled=deck.is_scheduled(c)) for c in deck.cards]
        with self.lock:
            counts = deck_store.import_cards(
                self.db, slug=deck.slug, title=deck.title, description=deck.description,
                desired_retention=deck.desired_retention, source=source, cards=records,
                now=self._utc(now or datetime.now(UTC)), prompts=deck.prompts.value,
                easy_days=deck.easy_days)
            self._decks.pop(deck.slug, None)
        return ImportResult(deck=deck.slug, added=counts.added, updated=counts.updated,
                            retired=counts.retired, unchanged=counts.unchanged, restored=counts.restored)

    def decks(self) -> list[DeckSummary]:
        with self.lock:
            rows = deck_store.list_decks(self.db)
        return [DeckSummary(slug=r.slug, title=r.title, cards=r.active_cards, learners=r.learners,
                            desired_retention=r.desired_retention) for r in rows]

    def implied_deck(self, user_id: str) -> str | None:
        """The deck a command that names none means: the learner's only deck, else the only deck
        there is; None when that is not one deck (the caller asks which)."""
        learner = self.learner(user_id)
        if learner is not None and len(learner.decks) == 1:
            return learner.decks[0]
        decks = self.decks()
        return decks[0].slug if len(decks) == 1 else None

    def deck(self, slug: str) -> Deck:
        """The deck's active cards, in order. TutorError if unknown."""
        info = self._deck_info(slug)
        return Deck(slug=slug, title=info.row.title, cards=info.active,
                    desired_retention=info.row.desired_retention, description=info.row.description,
                    prompts=PromptMode(info.row.prompts), easy_days=info.row.easy_days or NORMAL_WEEK)

    def card(self, deck: str, card_id: str) -> Card:
        """A card of the deck by id, retired ones included (an old message or test may name one)."""
        return self._card(self._deck_info(deck), deck, card_id)

    def _deck_info(self, slug: str, revisions: dict[str, tuple[int, float]] | None = None) -> DeckCards:
        with self.lock:
            revisions = deck_store.deck_revisions(self.db) if revisions is None else revisions
            if slug not in revisions:
                known = ", ".join(sorted(revisions)) or "none yet"
                raise TutorError(f"there is no deck {slug!r} (decks: {known})")
            cached = self._decks.get(slug)
            if cached is None or cached.revision != revisions[slug][0]:
                row = deck_store.deck_row(self.db, slug)
                assert row is not None
                cached = DeckCards(row, deck_store.deck_cards(self.db, slug))
                self._decks[slug] = cached
            return cached

    # learners -----------------------------------------------------------------------------
    def learner(self, user_id: str) -> Learner | None:
        with self.lock:
            row = learner_store.get_learner(self.db, user_id)
        return None if row is None else _learner(row, self._zone_of(row.user_id, row.tz))

    def ensure_learner(self, user_id: str, *, name: str | None = None, tz: str | None = None) -> Learner:
        """Create the learner if new; update name / tz when given."""
        if not user_id or not user_id.strip():
            raise TutorError("a learner needs a user name or id")
        zone_name = None if tz is None else self._zone_name(tz)
        with self.lock:
            learner_store.upsert_learner(self.db, user_id, name=name, tz=zone_name,
                                         default_tz=self.default_tz, now=datetime.now(UTC))
            return self._require_learner(user_id)

    def learners(self) -> list[Learner]:
        with self.lock:
            rows = learner_store.list_learners(self.db)
            return [_learner(r, self._zone_of(r.user_id, r.tz)) for r in rows]

    def join(self, user_id: str, deck: str, *, new_per_day: int = 5, reviews_per_day: int = 30) -> Learner:
        for name, value in (("new cards per day", new_per_day), ("reviews per day", reviews_per_day)):
            if not 0 <= value <= MAX_PER_DAY:
                raise TutorError(f"{name} must be between 0 and {MAX_PER_DAY}, not {value}")
        with self.lock:
            self._deck_info(deck)
            self.ensure_learner(user_id)
            learner_store.enroll(self.db, user_id, deck, new_per_day=new_per_day,
                                 reviews_per_day=reviews_per_day, now=datetime.now(UTC))
            return self._require_learner(user_id)

    def enrollment(self, user_id: str, deck: str) -> str | None:
        """"active" (in the deck), "left" (joined once, then left: their choice to respect) or None."""
        with self.lock:
            return learner_store.enrollment_status(self.db, user_id, deck)

    def leave(self, user_id: str, deck: str | None = None) -> Learner:
        """Leave one deck, or all when deck is None. History is kept."""
        with self.lock:
            learner = self._require_learner(user_id)
            if deck is not None and deck not in learner.decks:
                raise TutorError(f"you are not in the deck {deck!r}")
            learner_store.unenroll(self.db, user_id, deck, datetime.now(UTC))
            return self._require_learner(user_id)

    def set_delivery_time(self, user_id: str, at: time | str) -> Learner:
        """Set the local time of the daily review; `at` is a time or text such as "08:30" or "8am"."""
        if isinstance(at, str):
            try:
                at = days.parse_clock_time(at)
            except ValueError as exc:
                raise TutorError(str(exc)) from None
        if at.tzinfo is not None:
            raise TutorError("give the delivery time as a local wall-clock time, without a zone")
        return self._set(user_id, "delivery_time", days.format_clock_time(at))

    def set_timezone(self, user_id: str, tz: str) -> Learner:
        return self._set(user_id, "tz", self._zone_name(tz))

    def pause(self, user_id: str) -> Learner:
        learner = self._require_learner(user_id)
        return learner if learner.paused else self._set(user_id, "paused_at", _iso_now())

    def resume(self, user_id: str) -> Learner:
        return self._set(user_id, "paused_at", None)

    def _set(self, user_id: str, field: str, value: str | None) -> Learner:
        with self.lock:
            if not learner_store.set_learner_field(self.db, user_id, field, value):
                raise _unknown_learner(user_id)
            return self._require_learner(user_id)

    def _require_learner(self, user_id: str) -> Learner:
        learner = self.learner(user_id)
        if learner is None:
            raise _unknown_learner(user_id)
        return learner

    # the learning day ---------------------------------------------------------------------
    def learning_day(self, user_id: str, now: datetime) -> date:
        return days.learning_day(self._aware(now), self._require_learner(user_id).tz)

    def delivery_moment(self, user_id: str, day: date) -> datetime:
        """When the daily DM for learning day `day` is due, in UTC (local delivery time on that
        date; a time before 04:00 belongs to the next calendar date). DST-safe."""
        learner = self._require_learner(user_id)
        return days.delivery_moment(day, learner.delivery_time, learner.tz)

    # reviewing ----------------------------------------------------------------------------
    def due_cards(self, user_id: str, now: datetime, *, deck: str | None = None) -> list[DueItem]:
        """What to review now: due reviews first (most overdue first), then new cards in deck
        order, within the day's limits per deck; never reflection-only prompts. Empty when paused. A card
        due before the learning day ends counts as due today: one due at 10:00 is in the 08:30
        delivery."""
        with self.lock:
            if deck is not None:
                self._deck_info(deck)
                learner = self.learner(user_id)
                if learner is not None and deck not in learner.decks:
                    raise TutorError(f"you have not joined the deck {deck!r}")
            return self._plan(self._aware(now), user_id=user_id, deck=deck).get(user_id, [])

    def due_cards_for_all(self, now: datetime) -> dict[str, list[DueItem]]:
        """`due_cards` of every active learner at once (a few queries in all, for the daily
        delivery of many members): user id -> items; learners with nothing due are left out."""
        with self.lock:
            return {u: items for u, items in self._plan(self._aware(now)).items() if items}

    def _plan(self, now: datetime, *, user_id: str | None = None,
              deck: str | None = None) -> dict[str, list[DueItem]]:
        enrollments = [e if self._zone_of(e.user_id, e.tz) == e.tz else replace(e, tz=self.default_tz)
                       for e in learner_store.active_enrollments(self.db, user_id=user_id)
                       if not e.paused and (deck is None or e.deck == deck)]
        if not enrollments:
            return {}
        revisions = deck_store.deck_revisions(self.db)
        caches = {e.deck: self._deck_info(e.deck, revisions) for e in enrollments}
        return plan_due(self.db, now, enrollments, caches, user_id=user_id, deck=deck)

    def next_seq(self, user_id: str, deck: str, card_id: str) -> int:
        """The seq the next review of this card by this user will have (1 if never reviewed)."""
        with self.lock:
            state = review_store.get_state(self.db, user_id, deck, card_id)
        return 1 if state is None else state.seq + 1

    def next_intervals(self, user_id: str, deck: str, card_id: str, now: datetime) -> dict[Rating, timedelta]:
        """The interval, in learning days, each button would give now, for showing on the buttons before
        the click: the fuzz is drawn per card and review, so the label is what the click gives (on the
        same learning day, unless other cards of the member fall due in between)."""
        moment = self._aware(now)
        with self.lock:
            info = self._deck_info(deck)
            self._card(info, deck, card_id)
            state = review_store.get_state(self.db, user_id, deck, card_id)
            plan = self._schedule_plan(user_id, info, card_id)
            preview = self.srs.preview(state, user_id=user_id, deck=deck, card_id=card_id, now=moment,
                                       plan=plan)
        return {Rating(k): timedelta(days=v) for k, v in preview.items()}

    def answer_choice(self, user_id: str, deck: str, card_id: str, choice: int, *, seq: int, now: datetime,
                      duration_ms: int | None = None, source: str = "cli") -> ReviewResult:
        """Grade a multiple-choice answer (`choice` 0-based) by bot.grading's rule: wrong = Again; right
        = Good, or Hard on first sight or when much slower than the member's usual answers (guesses
        must not inflate intervals). `duration_ms`: from showing the question to the click."""
        card = self._card(self._deck_info(deck), deck, card_id)
        if not isinstance(card, MultipleChoice):
            raise TutorError("this card is not a multiple-choice question")
        if card.answer is None:
            raise TutorError("this question has no answer key, so it cannot be graded")
        if not 0 <= choice < len(card.options):
            raise TutorError(f"choose an option between 1 and {len(card.options)}")
        correct = choice == card.answer
        timed = source in TIMED_SOURCES and duration_ms is not None
        with self.lock:
            recent = (review_store.answer_times(self.db, user_id, sources=TIMED_SOURCES, limit=MEDIAN_OF)
                      if timed else [])
        grade = grade_choice(correct, first_review=seq == 1, duration_ms=duration_ms if timed else None,
                             recent_ms=recent)
        return self._record(user_id, deck, card_id, grade.rating, choice, correct, seq=seq, now=now,
                            duration_ms=duration_ms, source=source, reason=grade.reason)

    def grade(self, user_id: str, deck: str, card_id: str, rating: Rating, *, seq: int, now: datetime,
              duration_ms: int | None = None, source: str = "cli") -> ReviewResult:
        """Record a self-graded flashcard review."""
        card = self._card(self._deck_info(deck), deck, card_id)
        if card.kind is not CardKind.FLASHCARD:
            what = "an open prompt is graded by what the answer says and" if card.kind is CardKind.PROMPT \
                else "a question"
            raise TutorError(f"only flashcards are self-graded; {what} cannot be graded this way")
        try:
            rating = Rating(rating)
        except ValueError:
            raise TutorError("a grade is 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy)") from None
        return self._record(user_id, deck, card_id, rating, None, None, seq=seq, now=now,
                            duration_ms=duration_ms, source=source)

    def explain(self, deck: str, card_id: str, answer: str) -> ConceptGrade:
        """Grade an answer to an open prompt against its key concepts, recording nothing."""
        return self.grader(self._prompt(deck, card_id), answer)

    def answer_prompt(self, user_id: str, deck: str, card_id: str, answer: str, *, seq: int, now: datetime,
                      duration_ms: int | None = None, source: str = "cli") -> PromptResult:
        """Grade an answer to an open prompt and, where the prompt is graded (bot.explain), record
        the review it earns with the answer and its grade. The same seq twice is stored once and
        answered with the first grade. Grading happens before any lock is taken: it may take a
        moment (the worker)."""
        prompt = self._prompt(deck, card_id)
        grade = self.grader(prompt, answer)
        if not self.deck(deck).is_graded(prompt):
            return PromptResult(deck=deck, card=prompt, answer=answer, grade=grade, review=None)
        with self.lock, transaction(self.db):
            review = self._record(user_id, deck, card_id, rating_for(grade), None, None, seq=seq, now=now,
                                  duration_ms=duration_ms, source=source)
            if review.duplicate:
                stored = learning_store.prompt_answer(self.db, user_id, deck, card_id, review.seq)
                if stored is not None:
                    answer, grade = stored.answer, ConceptGrade.from_dict(stored.grade)
            else:
                learning_store.save_prompt_answer(self.db, learning_store.PromptAnswerRow(
                    user_id=user_id, deck=deck, card_id=card_id, seq=review.seq, answer=answer,
                    grade=grade.to_dict(), source=source, answered_at=self._utc(now)))
        return PromptResult(deck=deck, card=prompt, answer=answer, grade=grade, review=review)

    def _prompt(self, deck: str, card_id: str) -> Prompt:
        card = self._card(self._deck_info(deck), deck, card_id)
        if not isinstance(card, Prompt):
            raise TutorError(f"{card_id} is not an open prompt; only open prompts take a written answer")
        if not card.concepts:
            raise TutorError(f"the prompt {card_id} has no key concepts to grade an answer against")
        return card

    def record_imported(self, user_id: str, deck: str, card_id: str, rating: Rating, *, seq: int,
                        now: datetime, duration_ms: int | None, tz: str) -> ReviewResult:
        """Record a review from another tool's history (bot/history_import.py), in learning days of
        `tz`; call it inside the import's transaction to make the whole import one."""
        return self._record(user_id, deck, card_id, Rating(rating), None, None, seq=seq, now=now,
                            duration_ms=duration_ms, source="import", tz=tz)

    def _schedule_plan(self, user_id: str, info: DeckCards, card_id: str, tz: str | None = None) -> Plan:
        """Everything scheduling this card of this member depends on besides its state (under the lock)."""
        return schedule_plan(self.db, user_id, info, card_id, tz or self._learner_tz(user_id))

    def _learner_tz(self, user_id: str) -> str:
        learner = self.learner(user_id)
        return learner.tz if learner is not None else self.default_tz

    def _record(self, user_id: str, deck: str, card_id: str, rating: Rating, choice: int | None,
                correct: bool | None, *, seq: int, now: datetime, duration_ms: int | None,
                source: str, reason: str | None = None, tz: str | None = None) -> ReviewResult:
        """Store one graded answer from any source (SOURCES) once: idempotent on `seq`, scheduled with
        the member's parameters in learning days (of `tz`, default the member's zone). Every way of
        answering ends here."""
        moment = self._utc(now)
        if source not in SOURCES:
            raise TutorError(f"unknown answer source {source!r} (one of {', '.join(SOURCES)})")
        if duration_ms is not None and duration_ms < 0:
            raise TutorError("a review cannot take negative time")
        with self.lock:
            info = self._deck_info(deck)
            learner = self.learner(user_id) or self.ensure_learner(user_id)
            zone_name = tz or learner.tz
            try:
                with transaction(self.db):
                    before = review_store.get_state(self.db, user_id, deck, card_id)
                    current = 0 if before is None else before.seq
                    if seq <= current:
                        stored = review_store.latest_review(self.db, user_id, deck, card_id)
                        if stored is not None:
                            return self._result(stored, duplicate=True, tz=zone_name)
                    if seq != current + 1:
                        raise TutorError("this question is out of date; ask for your next card")
                    if card_id in info.retired:
                        raise TutorError("this card was removed from its deck")
                    scheduled = self.srs.review(before, user_id=user_id, deck=deck, card_id=card_id,
                                                rating=int(rating), now=moment,
                                                plan=self._schedule_plan(user_id, info, card_id, zone_name))
                    record = ReviewRecord(
                        user_id=user_id, deck=deck, card_id=card_id, seq=seq, rating=int(rating),
                        choice=choice, correct=correct, reviewed_at=moment,
                        learning_day=days.learning_day(moment, zone_name), duration_ms=duration_ms,
                        source=source, before=before, due=scheduled.after.due, leech=scheduled.leech)
                    review_store.record_review(self.db, record, scheduled.after)
            except sqlite3.IntegrityError:
                # Another connection stored this seq between our read and write: the answer is in.
                stored = review_store.latest_review(self.db, user_id, deck, card_id)
                if stored is None or stored.seq < seq:
                    raise
                return self._result(stored, duplicate=True, tz=zone_name)
        return self._result(record, duplicate=False, tz=zone_name, reason=reason)

    def undo_last(self, user_id: str) -> ReviewResult | None:
        """Remove the user's last review and restore the card's state before it. Returns the review
        removed (duplicate=False), or None when there is none."""
        with self.lock, transaction(self.db):
            record = review_store.last_review_of_user(self.db, user_id)
            if record is None:
                return None
            review_store.undo_review(self.db, record)
        return self._result(record, duplicate=False, tz=self._learner_tz(user_id))

    def unsuspend(self, user_id: str, deck: str, card_id: str) -> bool:
        """Bring back a suspended card (a leech); False when it was not suspended."""
        with self.lock, transaction(self.db):
            state = review_store.get_state(self.db, user_id, deck, card_id)
            if state is None or state.suspended_at is None:
                return False
            return review_store.set_suspended(self.db, user_id, deck, card_id, None)

    def _result(self, record: ReviewRecord, *, duplicate: bool, tz: str,
                reason: str | None = None) -> ReviewResult:
        card = self._card(self._deck_info(record.deck), record.deck, record.card_id)
        interval = days.learning_day(record.due, tz) - record.learning_day
        return ReviewResult(deck=record.deck, card=card, rating=Rating(record.rating), correct=record.correct,
                            choice=record.choice, due=record.due, interval=interval, duplicate=duplicate,
                            leech=record.leech, seq=record.seq, reason=reason)

    def _card(self, info: DeckCards, deck: str, card_id: str) -> Card:
        card = info.by_id.get(card_id)
        if card is None:
            raise TutorError(f"the deck {deck!r} has no card {card_id!r}")
        return card

    # stats --------------------------------------------------------------------------------
    def stats(self, user_id: str, now: datetime) -> LearnerStats:
        with self.lock:
            learner = self._require_learner(user_id)
            new_today = sum(1 for item in self.due_cards(user_id, now) if item.is_new)
            found = learner_stats(self.db, learner.user_id, learner.tz, self._aware(now), new_today=new_today)
            return replace(found, memory=memory_models.status(self.db, user_id, learner.decks))

    def card_stats(self, deck: str) -> list[CardStats]:
        """Per active scheduled card of the deck, in deck order: attempts by everyone, % right and
        the wrong option chosen most."""
        with self.lock:
            scheduled = self.deck(deck).scheduled_cards
            counts = review_stats.card_answer_counts(self.db, deck)
        found = []
        for card in scheduled:
            c = counts.get(card.id)
            wrong = None
            if c and c.wrong_choices and isinstance(card, MultipleChoice):
                index = max(sorted(c.wrong_choices), key=lambda i: c.wrong_choices[i])
                wrong = card.options[index] if index < len(card.options) else None
            found.append(CardStats(deck=deck, card_id=card.id, prompt=card.prompt_text,
                                   attempts=c.attempts if c else 0,
                                   percent_right=100.0 * c.right / c.attempts if c else None,
                                   most_chosen_wrong=wrong))
        return found

    # helpers ------------------------------------------------------------------------------
    def _zone_of(self, user_id: str, stored: str) -> str:
        """A learner's stored zone, or the default zone when this server's tz database lacks it (a
        row written where tzdata was newer): one such row must not stop everyone's plan."""
        return self._stored_zones.resolve(stored, owner=user_id, fallback=self.default_tz,
                                          instead=f"TUTOR_TZ ({self.default_tz})") or self.default_tz

    @staticmethod
    def _zone_name(tz: str) -> str:
        try:
            days.zone(tz)
        except ValueError as exc:
            raise TutorError(str(exc)) from None
        return tz

    @staticmethod
    def _aware(now: datetime) -> datetime:
        try:
            return days.require_aware(now)
        except ValueError as exc:
            raise TutorError(str(exc)) from None

    def _utc(self, now: datetime) -> datetime:
        return self._aware(now).astimezone(UTC)


def _learner(row: learner_store.LearnerRow, tz: str) -> Learner:
    return Learner(user_id=row.user_id, name=row.name, tz=tz,
                   delivery_time=days.parse_clock_time(row.delivery_time), paused=row.paused_at is not None,
                   decks=row.decks)


def _unknown_learner(user_id: str) -> TutorError:
    return TutorError(f"{user_id!r} is not a learner yet: join a deck first")


def _iso_now() -> str:
    return iso(datetime.now(UTC))
