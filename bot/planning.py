"""What is due for whom on their learning day, and a learner's statistics (read-only).

One code path serves one learner (`Tutor.due_cards`) and everyone (`Tutor.due_cards_for_all`): three
queries fetch the candidates (due reviews, the cards each learner has seen, today's reviews); the unseen
cards, the concepts learned and the limits are worked out here per learner, in the learner's own zone.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import partial

import sqlite_utils

from bot import learning_day as days
from bot import memory_models
from bot.srs import Plan
from bot.tutor_types import DueItem, LearnerStats
from content.model import NORMAL_WEEK, Card, CardKind, Deck, PromptMode, card_from_dict
from storage import decks as deck_store
from storage import review_stats
from storage import reviews as review_store
from storage.learners import EnrollmentRow
from storage.timefmt import iso, parse

RETENTION_WINDOW = timedelta(days=30)


LOOK_AHEAD = 10  # unseen cards of each kind read past the day's new-card slots, for those the concept
# rules hold back (more held back than this: that day takes more of the other kinds)


class DeckCards:
    """A deck's cards as of one revision: all by id (retired too, for old answers), active in order,
    the scheduled kinds in the order they first appear, and which active flashcards teach each
    concept."""

    def __init__(self, row: deck_store.DeckRow, stored: Sequence[deck_store.StoredCard]) -> None:
        self.revision = row.revision
        self.row = row
        self.by_id: dict[str, Card] = {s.card_id: card_from_dict(s.data) for s in stored}
        self.retired = frozenset(s.card_id for s in stored if s.retired_at is not None)
        active_ids = [s.card_id for s in stored if s.retired_at is None]
        self.active = tuple(self.by_id[i] for i in active_ids)
        self.position = {card_id: index for index, card_id in enumerate(active_ids)}
        rules = Deck(slug=row.slug, title=row.title, cards=(), prompts=PromptMode(row.prompts))
        self.kinds = tuple(dict.fromkeys(c.kind for c in self.active if rules.is_scheduled(c)))
        # the scheduled active cards of each scheduled kind, in deck order: where new cards come from
        scheduled = {s.card_id for s in stored if s.scheduled and s.retired_at is None}
        self.scheduled_ids = frozenset(scheduled)
        self.scheduled: dict[CardKind, tuple[tuple[str, Card], ...]] = {kind: tuple(
            (i, self.by_id[i]) for i in active_ids if i in scheduled and self.by_id[i].kind is kind)
            for kind in self.kinds}
        self.concept_of: dict[str, str] = {}
        self.concept_flashcards: dict[str, frozenset[str]] = {}
        for card_id, card in zip(active_ids, self.active, strict=True):
            if card.concept is None:
                continue
            self.concept_of[card_id] = card.concept
            if card.kind is CardKind.FLASHCARD:
                known = self.concept_flashcards.get(card.concept, frozenset())
                self.concept_flashcards[card.concept] = known | {card_id}
        self.teaching = frozenset(i for ids in self.concept_flashcards.values() for i in ids)

    def unseen(self, seen: set[str], per_kind: int) -> list[deque[tuple[str, Card]]]:
        """Per scheduled kind (in turn order), the first `per_kind` cards not in `seen`, in deck order."""
        queues = []
        for cards in self.scheduled.values():
            queue: deque[tuple[str, Card]] = deque()
            for pair in cards:
                if len(queue) >= per_kind:
                    break
                if pair[0] not in seen:
                    queue.append(pair)
            queues.append(queue)
        return queues


class _ConceptRules:
    """One learner's concept rules for one learning day: at most one card of a (deck, concept) a day,
    and a concept's questions (multiple choice, graded prompts) only once one of its flashcards was
    reviewed on an earlier day (so a flashcard failed yesterday cannot come back right before its
    question today).
    `reviewed_today` is (deck, card_id); `learned` is (deck, concept) of the concepts one of whose
    flashcards was first reviewed before today."""

    def __init__(self, reviewed_today: Iterable[tuple[str, str]], learned: set[tuple[str, str]],
                 decks: dict[str, DeckCards]) -> None:
        self.decks = decks
        self.learned = learned
        self.taken: set[tuple[str, str]] = set()
        for deck, card_id in reviewed_today:
            concept = decks[deck].concept_of.get(card_id) if deck in decks else None
            if concept is not None:
                self.taken.add((deck, concept))

    def allow(self, deck: str, card: Card) -> bool:
        """Whether `card` may be shown today; if so, its concept counts as taken from now on."""
        concept = card.concept
        if concept is None:
            return True
        key = (deck, concept)
        if key in self.taken:
            return False
        if card.kind is not CardKind.FLASHCARD:  # a question (multiple choice, or a graded prompt)
            if concept in self.decks[deck].concept_flashcards and key not in self.learned:
                return False
        self.taken.add(key)
        return True


def plan_due(db: sqlite_utils.Database, now: datetime, enrollments: Sequence[EnrollmentRow],
             decks: dict[str, DeckCards], *, user_id: str | None = None,
             deck: str | None = None) -> dict[str, list[DueItem]]:
    """user id -> today's items: per deck at most (reviews_per_day - reviews done today) due reviews
    and (new_per_day - new cards introduced today) new cards; then all reviews by due time (most
    overdue first), then new cards deck by deck, their kinds taken in turn (_new_cards). The concept
    rules (_ConceptRules) hold across both: a card they block waits for a later day, taking no slot.
    Paused learners are not in `enrollments` (the caller drops them)."""
    today: dict[str, date] = {}
    day_ends: dict[str, str] = {}  # stored form (storage.timefmt): compared as text, as SQL does
    by_zone: dict[str, tuple[date, str]] = {}  # many learners share a zone: compute once each
    for e in enrollments:
        if e.user_id not in today:
            if e.tz not in by_zone:
                day = days.learning_day(now, e.tz)
                by_zone[e.tz] = (day, iso(days.day_end(day, e.tz)))
            today[e.user_id], day_ends[e.user_id] = by_zone[e.tz]
    latest_end = max(day_ends.values())
    # the states due by then, of every learner (rows of enrollments not in `enrollments` are never
    # looked at; retired and unscheduled cards are skipped below): (due text, card id, seq)
    due_rows: dict[tuple[str, str], list[tuple[str, str, int]]] = defaultdict(list)
    for u, d, card_id, due_text, seq in review_store.due_state_rows(db, before=latest_end, user_id=user_id,
                                                                     deck=deck):
        due_rows[u, d].append((due_text, card_id, seq))
    seen = review_store.seen_cards(db, user_id=user_id)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])  # new cards, reviews today
    reviewed: dict[str, list[tuple[str, str]]] = defaultdict(list)
    introduced: dict[tuple[str, str], set[str]] = defaultdict(set)  # new cards answered today
    for u, d, card_id, seq, day in review_store.day_reviews(db, set(today.values()), user_id=user_id):
        if day == today.get(u):
            counts[u, d][seq > 1] += 1
            reviewed[u].append((d, card_id))
            if seq == 1:
                introduced[u, d].add(card_id)
    learned: dict[str, set[tuple[str, str]]] = defaultdict(set)  # (deck, concept) taught before today
    for (u, d), card_ids in seen.items():
        cards = decks.get(d)
        if cards is not None and cards.teaching:
            today_new = introduced.get((u, d), ())
            concepts = {cards.concept_of[i] for i in card_ids & cards.teaching if i not in today_new}
            learned[u].update((d, concept) for concept in concepts)
    rules: dict[str, _ConceptRules] = {}

    def rules_of(u: str) -> _ConceptRules:  # made on first need: most cards have no concept
        if u not in rules:
            rules[u] = _ConceptRules(reviewed.get(u, ()), learned.get(u, set()), decks)
        return rules[u]

    reviews: dict[str, list[tuple[datetime, int, DueItem]]] = defaultdict(list)
    new: dict[str, list[DueItem]] = defaultdict(list)
    deck_rank: dict[str, int] = defaultdict(int)
    for e in enrollments:
        u, cards = e.user_id, decks[e.deck]
        rank = deck_rank[u]
        deck_rank[u] += 1
        new_done, reviews_done = counts.get((u, e.deck), (0, 0))
        review_slots = max(0, e.reviews_per_day - reviews_done)
        end = day_ends[u]
        for due_text, card_id, seq in due_rows.get((u, e.deck), ()):
            if review_slots <= 0 or due_text >= end:
                break
            card = cards.by_id.get(card_id) if card_id in cards.scheduled_ids else None
            if card is None or card.concept is not None and not rules_of(u).allow(e.deck, card):
                continue
            review_slots -= 1
            due = parse(due_text)
            item = DueItem(deck=e.deck, card=card, is_new=False, seq=seq + 1, due=due)
            reviews[u].append((due, rank, item))
        unseen = cards.unseen(seen.get((u, e.deck), set()), e.new_per_day + LOOK_AHEAD)
        fresh = _new_cards(cards, e.new_per_day, unseen, introduced[u, e.deck], partial(rules_of, u))
        new[u] += [DueItem(deck=e.deck, card=card, is_new=True, seq=1)
                   for card in fresh[:max(0, e.new_per_day - new_done)]]
    plan: dict[str, list[DueItem]] = {}
    for u in today:
        ordered = [item for _, _, item in sorted(reviews.get(u, []), key=lambda t: (t[0], t[1]))]
        plan[u] = ordered + new.get(u, [])
    return plan


def _new_cards(cards: DeckCards, per_day: int, unseen: list[deque[tuple[str, Card]]], introduced: set[str],
               rules: Callable[[], _ConceptRules]) -> list[Card]:
    """The day's new cards not yet answered: the kinds taken in turn (in the order they first appear
    in the deck; `unseen` has a queue per kind, DeckCards.unseen), each kind in deck order, skipping
    what the concept rules hold back, `per_day` in all. The cards already introduced today keep their
    places, so the day's list does not change while the member answers it. (Card ids are passed along:
    a card's `id` is a hash, not free.) The queues are consumed."""
    if per_day <= 0 or not any(unseen):
        return []
    queues = unseen
    if introduced:  # back in their kind's queue, in deck order
        by_kind = dict(zip(cards.scheduled, unseen, strict=True))
        for card_id in introduced:
            card = cards.by_id.get(card_id)
            queue = None if card is None else by_kind.get(card.kind)
            if queue is not None and card is not None and all(i != card_id for i, _ in queue):
                queue.append((card_id, card))
        end = len(cards.position)
        queues = [deque(sorted(q, key=lambda pair: cards.position.get(pair[0], end))) for q in unseen]
    chosen: list[Card] = []
    checker: _ConceptRules | None = None
    done = 0
    turns = [q for q in queues if q]
    while done < per_day and turns:
        for queue in turns:
            while queue and done < per_day:
                card_id, card = queue.popleft()
                if card_id in introduced:
                    done += 1
                    break
                if card.concept is not None:
                    checker = checker or rules()
                    if not checker.allow(cards.row.slug, card):
                        continue
                chosen.append(card)
                done += 1
                break
        turns = [q for q in turns if q]
    return chosen


def schedule_plan(db: sqlite_utils.Database, user_id: str, cards: DeckCards, card_id: str, tz: str) -> Plan:
    """What scheduling one member's card depends on besides its state: their zone, the deck's
    retention and easy days, the FSRS parameters in use for them (bot.memory_models), and the load of
    each day (their other cards due then), which is read only when the fuzz range needs it."""
    deck = cards.row.slug

    def load(first: date, last: date) -> dict[date, int]:
        counts: dict[date, int] = defaultdict(int)
        start, end = days.day_start(first, tz), days.day_end(last, tz)
        for due, found in review_store.due_load(db, user_id, start=start, end=end, exclude=(deck, card_id)):
            counts[days.learning_day(due, tz)] += found
        return counts

    return Plan(tz=tz, desired_retention=cards.row.desired_retention,
                parameters=memory_models.in_use(db, user_id, deck).parameters,
                easy_days=cards.row.easy_days or NORMAL_WEEK, load=load)


def streak(review_days_desc: Sequence[date], today: date) -> int:
    """Consecutive learning days with a review, ending today or (not yet reviewed today) yesterday."""
    past = [d for d in review_days_desc if d <= today]
    if not past or past[0] < today - timedelta(days=1):
        return 0
    count, expected = 0, past[0]
    for day in past:
        if day != expected:
            break
        count += 1
        expected = day - timedelta(days=1)
    return count


def learner_stats(db: sqlite_utils.Database, user_id: str, tz: str, now: datetime, *,
                  new_today: int) -> LearnerStats:
    today = days.learning_day(now, tz)
    due = review_store.due_review_rows(db, before=days.day_end(today, tz), user_id=user_id,
                                       include_paused=True)
    per_day = review_stats.reviews_per_day(db, user_id, since=today - timedelta(days=6))
    passed, total = review_stats.retention_counts(db, user_id, now - RETENTION_WINDOW)
    learned, next_due = review_stats.learned_and_next_due(db, user_id)
    return LearnerStats(
        user_id=user_id, due_now=sum(1 for r in due if r.due <= now), due_today=len(due),
        reviewed_today=per_day.get(today, 0),
        reviewed_this_week=sum(n for d, n in per_day.items() if d <= today),
        retention_30d=passed / total if total else None,
        streak=streak(review_stats.review_days_desc(db, user_id), today), cards_learned=learned,
        next_due=next_due, new_today=new_today)
