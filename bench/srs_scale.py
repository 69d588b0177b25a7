"""How the learning core scales: N learners (default 10,000) with a random review history over the
shipped deck, then

  1. the daily due computation for everyone: `Tutor.due_cards_for_all(now)` (3 queries in all), and
     for comparison `Tutor.due_cards(user, now)` per learner (what a delivery of one member calls),
     timed on a sample and scaled to N;
  2. recording 10,000 reviews through the Tutor (one transaction each, as answers arrive);
  3. the size of the database file.

Goal: the whole daily due computation under 2 s on a 2-core machine.

    python bench/srs_scale.py [--users 10000] [--reviews 10000] [--seed 0] [--db PATH]

The history is loaded with bulk inserts through storage functions (not N x cards Tutor calls): a pool
of card histories is simulated with fsrs itself (fuzz on, ratings ~10% Again, 15% Hard, 65% Good,
10% Easy, each review 0-2 days after it fell due), and each learner's cards take a random one of them,
shifted to start 0-120 days ago and cut at now.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsrs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.learning_day import learning_day  # noqa: E402
from bot.tutor import Rating, Tutor  # noqa: E402
from content.loader import load_deck_file, shipped_decks  # noqa: E402
from content.model import MultipleChoice, Prompt  # noqa: E402
from storage import learners as learner_store  # noqa: E402
from storage import reviews as review_store  # noqa: E402
from storage.db import open_db, transaction  # noqa: E402
from storage.reviews import CardState, ReviewRecord  # noqa: E402

ZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles", "Asia/Kolkata",
         "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo", "Africa/Lagos", "Pacific/Kiritimati",
         "Pacific/Pago_Pago", "UTC")
RATINGS = (1, 2, 3, 4)
RATING_WEIGHTS = (0.10, 0.15, 0.65, 0.10)
POOL_START = datetime(2000, 1, 1, tzinfo=UTC)  # simulated histories start here, then get shifted


@dataclass(frozen=True)
class Step:
    offset: timedelta  # since the history's first review
    rating: int
    card: fsrs.Card  # state after this review
    lapses: int


def simulate_pool(size: int, rng: random.Random) -> list[list[Step]]:
    scheduler = fsrs.Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=True)
    start = POOL_START
    pool = []
    for _ in range(size):
        card, moment, lapses, steps = fsrs.Card(card_id=0, due=start), start, 0, []
        for _ in range(rng.randint(1, 10)):
            rating = rng.choices(RATINGS, RATING_WEIGHTS)[0]
            lapses += card.state == fsrs.State.Review and rating == 1
            card, _ = scheduler.review_card(card, fsrs.Rating(rating), moment)
            steps.append(Step(moment - start, rating, card, lapses))
            moment = card.due + timedelta(seconds=rng.uniform(0, 2 * 86_400))
        pool.append(steps)
    return pool


def state_of(user: str, deck: str, card_id: str, step: Step, base: datetime, seq: int) -> CardState:
    c = step.card
    return CardState(user_id=user, deck=deck, card_id=card_id, state=int(c.state), step=c.step,
                     stability=c.stability, difficulty=c.difficulty, due=base + (c.due - POOL_START),
                     last_review=base + step.offset, reps=seq, lapses=step.lapses, seq=seq)


def load_history(tutor: Tutor, deck_slug: str, users: int, now: datetime, rng: random.Random) -> int:
    scheduled = [c.id for c in tutor.deck(deck_slug).scheduled_cards]
    zones = {f"u{i:05d}": rng.choice(ZONES) for i in range(users)}
    times = {u: f"{rng.randint(7, 10):02d}:{rng.choice((0, 30)):02d}" for u in zones}
    learner_store.insert_learners(tutor.db, ((u, None, tz, times[u]) for u, tz in zones.items()), now)
    learner_store.insert_enrollments(tutor.db, ((u, deck_slug, 5, 30) for u in zones), now)
    pool = simulate_pool(4000, rng)
    states: list[CardState] = []
    records: list[ReviewRecord] = []
    for user, tz in zones.items():
        for card_id in scheduled[:rng.randint(0, len(scheduled))]:  # introduced in deck order
            history = rng.choice(pool)
            base = now - timedelta(days=rng.uniform(0, 120))
            steps = [s for s in history if base + s.offset < now]
            before = None
            for seq, step in enumerate(steps, start=1):
                after = state_of(user, deck_slug, card_id, step, base, seq)
                moment = base + step.offset
                records.append(ReviewRecord(
                    user_id=user, deck=deck_slug, card_id=card_id, seq=seq, rating=step.rating, choice=None,
                    correct=None, reviewed_at=moment, learning_day=learning_day(moment, tz), duration_ms=8000,
                    source="dm", before=before, due=after.due, leech=False))
                before = after
            if before is not None:
                states.append(before)
    with transaction(tutor.db):
        review_store.insert_history(tutor.db, states, records)
    return len(records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=10_000, help="reviews to record through the Tutor")
    parser.add_argument("--sample", type=int, default=1000, help="learners timed with per-learner due_cards")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", help="database file (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    random.seed(args.seed)  # fsrs's fuzz uses the module's generator
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db) if args.db else Path(tmp) / "scale.db"
        tutor = Tutor(open_db(path), fuzzing=True)
        deck = load_deck_file(next(p for p in shipped_decks() if p.stem == "pretrained-models-cv")).deck
        tutor.import_deck(deck)
        now = datetime.now(UTC).replace(microsecond=0)

        started = time.perf_counter()
        logged = load_history(tutor, deck.slug, args.users, now, rng)
        loaded = time.perf_counter() - started
        print(f"setup: {args.users:,} learners, {logged:,} past reviews loaded in {loaded:.1f} s")

        started = time.perf_counter()
        due = tutor.due_cards_for_all(now)
        batched = time.perf_counter() - started
        items = sum(len(v) for v in due.values())
        print(f"due for everyone (due_cards_for_all): {batched:.2f} s for {args.users:,} learners "
              f"({len(due):,} with cards, {items:,} cards)")

        sample = [f"u{i:05d}" for i in rng.sample(range(args.users), min(args.sample, args.users))]
        started = time.perf_counter()
        for user in sample:
            assert [i.card.id for i in tutor.due_cards(user, now)] == [i.card.id for i in due.get(user, [])]
        per_user = (time.perf_counter() - started) / len(sample)
        print(f"due per learner (due_cards): {per_user * 1000:.2f} ms each, "
              f"{per_user * args.users:.2f} s for "
              f"{args.users:,} learners ({per_user * args.users / batched:.1f}x the batched query)")

        started = time.perf_counter()
        learners = tutor.learners()
        listed = time.perf_counter() - started
        started = time.perf_counter()
        for learner in learners:
            tutor.delivery_moment(learner.user_id, tutor.learning_day(learner.user_id, now))
        moments = time.perf_counter() - started
        print(f"delivery tick: learners() {listed:.2f} s, learning_day + delivery_moment of each "
              f"{moments:.2f} s ({moments / len(learners) * 1e6:.0f} us per learner)")

        answers = [(u, i) for u, queue in due.items() for i in queue][:args.reviews]
        started = time.perf_counter()
        for user, item in answers:
            moment = now + timedelta(minutes=1)
            if isinstance(item.card, MultipleChoice):
                tutor.answer_choice(user, item.deck, item.card.id, rng.randrange(len(item.card.options)),
                                    seq=item.seq, now=moment, source="dm")
            elif isinstance(item.card, Prompt):  # a graded prompt: its model answer, or a word of it
                text = item.card.model_answer or item.card.question
                tutor.answer_prompt(user, item.deck, item.card.id, text if rng.random() < 0.8 else text[:20],
                                    seq=item.seq, now=moment, source="dm")
            else:
                tutor.grade(user, item.deck, item.card.id, Rating(rng.choices(RATINGS, RATING_WEIGHTS)[0]),
                            seq=item.seq, now=moment, source="dm")
        recorded = time.perf_counter() - started
        print(f"record {len(answers):,} reviews: {recorded:.2f} s ({len(answers) / recorded:,.0f} reviews/s)")

        tutor.db.conn.close()  # the last connection checkpoints the WAL into the file
        size = path.stat().st_size / 1e6
        print(f"database size: {size:.1f} MB ({size * 1000 / args.users:.1f} kB per learner)")
        goal = "met" if batched < 2.0 else "NOT met"
        print(f"goal (daily due computation < 2 s): {goal}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
