"""How well tutor's scheduling predicts memory, and the choices behind it, measured. Prints tables:

1. The real history in ../shared/srs/ (12,580 reviews of one learner): the first half to fit, the
   later-day reviews of the second half to test. Log loss, RMSE(bins) and AUC as
   open-spaced-repetition/srs-benchmark computes them (bot/fsrs_fit.py), for FSRS-6's defaults fed
   real elapsed time (floor(hours / 24), what tutor did before), the defaults fed learning days (what
   it does now), and a fit with fsrs-rs-python on the first half (its seconds too).
2. The history threshold: three members made of the history (its cards split three ways) and the
   whole of it; fits on each one's first N reviews against the defaults on the next 1,500.
3. A team prior on a simulated team: members whose memories are the real learner's fitted one, each
   varied a little (or a lot), studying 150 days; a newcomer with 300 reviews is predicted by the
   defaults, by their own small fit, by the team prior (fitted on everyone else) unguarded and behind
   the per-member guard (the prior only if it beats the defaults on their own reviews), and by their
   true parameters; then the guard on ten more newcomers, judged after their first 100 to 1,000 reviews.
4. Multiple-choice grading rules, simulated against honest self-graded flashcards: yearly retention,
   reviews per card per year, the share of lucky guesses, and how much they inflate stability.
5. The shipped deck over a simulated month: member-days showing two cards on one concept, and failed
   flashcards followed the same day by their question, without and with the concept rules.

    python bench/fsrs_quality.py [--quick]

Timings are wall-clock on this machine; --quick shortens the simulations (for a smoke run).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import statistics
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import fsrs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import memory_models  # noqa: E402
from bot.fsrs_fit import HistoryReview, Prediction, Scores, fit, predictions, scores  # noqa: E402
from bot.grading import grade_choice  # noqa: E402
from bot.learning_day import learning_day  # noqa: E402
from bot.srs import DEFAULT_PARAMETERS, fsrs_moment  # noqa: E402
from bot.tutor import Rating, Tutor  # noqa: E402
from content.loader import load_deck_file, shipped_decks  # noqa: E402
from content.model import Deck, Flashcard, MultipleChoice, Prompt  # noqa: E402
from storage.db import open_db  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "srs"
TZ = "UTC"  # the history's learner: no zone is known, so learning days in UTC


def fixed(parameters: Sequence[float]) -> Callable[[str | None], Sequence[float]]:
    """The same parameters for every deck."""
    return lambda _: parameters


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        padded = [c.ljust(w) if i == 0 else c.rjust(w)
                  for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        print("  " + "  ".join(padded))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)


# 1. the real history ------------------------------------------------------------------------------
def load_history() -> list[HistoryReview]:
    """The real history: TUTOR_REVIEW_LOG, or ../shared/srs/*.csv next to the clone."""
    given = os.environ.get("TUTOR_REVIEW_LOG")
    path = Path(given) if given else next(iter(sorted(SHARED.glob("*.csv"))), None)
    if path is None or not path.is_file():
        raise SystemExit(f"the real review log is not there ({given or SHARED}); set TUTOR_REVIEW_LOG")
    with path.open(newline="") as handle:
        rows = [(r["card_id"], int(r["review_rating"]), datetime.fromisoformat(r["review_time"]))
                for r in csv.DictReader(handle)]
    return [HistoryReview(card=c, deck=None, rating=g, reviewed_at=m, day=learning_day(m, TZ))
            for c, g, m in sorted(rows, key=lambda r: r[2])]


def hours_predictions(history: Sequence[HistoryReview],
                      scored: Callable[[HistoryReview], bool]) -> list[Prediction]:
    """The defaults fed real moments (floor(hours / 24) days), scored on the same reviews as the rest
    (later learning days), which is how tutor scheduled before learning days."""
    scheduler = fsrs.Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    cards: dict[object, list[HistoryReview]] = defaultdict(list)
    for review in history:
        cards[review.card].append(review)
    found = []
    for reviews in cards.values():
        card, lapses = fsrs.Card(card_id=0, due=reviews[0].reviewed_at), 0
        for number, review in enumerate(reviews, start=1):
            moment = review.reviewed_at.astimezone(UTC)
            if number > 1:
                elapsed = (review.day - reviews[number - 2].day).days
                if elapsed > 0:
                    if scored(review):
                        found.append(Prediction(recall=scheduler.get_card_retrievability(card, moment),
                                                passed=review.rating > 1, elapsed=elapsed, number=number,
                                                lapses=lapses))
                    lapses += review.rating == 1
            card, _ = scheduler.review_card(card, fsrs.Rating(review.rating), moment)
    return found


def real_history(history: list[HistoryReview]) -> None:
    cut = history[len(history) // 2].reviewed_at

    def second_half(review: HistoryReview) -> bool:
        return review.reviewed_at >= cut

    started = time.perf_counter()
    fitted = fit([r for r in history if r.reviewed_at < cut])
    seconds = time.perf_counter() - started
    rows = []
    for name, found in (
            ("FSRS-6 defaults, elapsed time in hours (before)", hours_predictions(history, second_half)),
            ("FSRS-6 defaults, elapsed time in learning days (now)",
             predictions(history, fixed(DEFAULT_PARAMETERS), scored=second_half)),
            ("FSRS-6 fitted with fsrs-rs on the first half, in days",
             predictions(history, fixed(fitted), scored=second_half))):
        s = scores(found)
        assert s is not None
        rows.append((name, s.log_loss, s.rmse_bins, s.auc, s.count))
    table(f"1. Real history: {len(history):,} reviews; fit on the first half, tested on the later-day "
          f"reviews of the second half (fit: {seconds:.3f} s, no torch)",
          ("model", "log loss", "RMSE(bins)", "AUC", "reviews"), rows)


# 2. the threshold ---------------------------------------------------------------------------------
def threshold(history: list[HistoryReview], quick: bool) -> None:
    """For members with N reviews so far: fit on the first 80 %, adopt only if better than the defaults
    on the newest 20 % (the guard, as bot.memory_models does), then score the choice on the member's
    next 1,500 reviews. The threshold is where the guarded choice stops hurting."""
    members = {f"half {k + 1}": [r for r in history if zlib.crc32(str(r.card).encode()) % 2 == k]
               for k in range(2)}
    members.update({f"third {k + 1}": [r for r in history if zlib.crc32(str(r.card).encode()) % 3 == k]
                    for k in range(3)})
    members["whole"] = history
    sizes = (500, 1000, 2000, 4000) if quick else (300, 500, 1000, 2000, 3000, 4000, 6000, 8000)
    rows: list[tuple[object, ...]] = []
    chosen: list[int] = []
    for size in sizes:
        raw, guarded, adopted, tried = [], [], 0, 0
        for reviews in members.values():
            if size + 1500 > len(reviews):
                continue
            window = reviews[:size + 1500]
            now, cut = window[size].reviewed_at, window[int(size * 0.8)].reviewed_at

            def future(review: HistoryReview, now: datetime = now) -> bool:
                return review.reviewed_at >= now

            def held_out(review: HistoryReview, cut: datetime = cut, now: datetime = now) -> bool:
                return cut <= review.reviewed_at < now

            fitted = fit(window[:int(size * 0.8)])
            check = [scores(predictions(window[:size], fixed(p), scored=held_out))
                     for p in (DEFAULT_PARAMETERS, fitted)]
            base = scores(predictions(window, fixed(DEFAULT_PARAMETERS), scored=future))
            mine = scores(predictions(window, fixed(fitted), scored=future))
            assert base is not None and mine is not None and check[0] is not None and check[1] is not None
            take = check[1].log_loss < check[0].log_loss
            adopted += take
            tried += 1
            raw.append(mine.log_loss - base.log_loss)
            guarded.append(raw[-1] if take else 0.0)
        if tried:
            better = sum(d < 0 for d in raw)
            rows.append((f"{size:,} reviews", tried, f"{better}/{tried}", statistics.mean(raw),
                         f"{adopted}/{tried}", statistics.mean(guarded)))
            if tried >= 3 and statistics.mean(guarded) <= 0 and better * 2 > tried:
                chosen.append(size)
    table("2. Members with N reviews (the history split in halves, thirds, and whole): a fit on them vs the "
          "defaults on their next 1,500 reviews (d log loss < 0: the fit is better), unguarded and guarded",
          ("history", "members", "fit better", "d log loss, always fit", "guard adopts",
           "d log loss, guarded"), rows)
    print(f"  smallest history, among those with 3 members or more, where the fit beats the defaults for "
          f"most of them and the guarded choice does not hurt on average: "
          f"{f'{min(chosen):,}' if chosen else 'none'}; MIN_REVIEWS in bot/memory_models.py: "
          f"{memory_models.MIN_REVIEWS:,}")


# 3. a team prior on a simulated team --------------------------------------------------------------
LOWER, UPPER = fsrs.scheduler.LOWER_BOUNDS_PARAMETERS, fsrs.scheduler.UPPER_BOUNDS_PARAMETERS


def varied(parameters: Sequence[float], spread: float, rng: random.Random) -> tuple[float, ...]:
    """Each weight times e^N(0, spread), kept inside fsrs's bounds."""
    return tuple(min(max(w * math.exp(rng.gauss(0, spread)), lo), hi)
                 for w, lo, hi in zip(parameters, LOWER, UPPER, strict=True))


def simulate_member(name: str, truth: Sequence[float], days: int, cards: int, new_per_day: int,
                    rng: random.Random) -> list[HistoryReview]:
    """A member studies every day, scheduled by the defaults (as a team starts); each review passes
    with the probability their true memory (FSRS with `truth`) gives, graded Good mostly."""
    schedule = fsrs.Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    memory = fsrs.Scheduler(parameters=truth, learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    start = date(2025, 1, 1)
    shown: dict[int, fsrs.Card] = {}
    true: dict[int, fsrs.Card] = {}
    log: list[HistoryReview] = []
    introduced = 0
    for day in range(days):
        today = start + timedelta(days=day)
        moment = fsrs_moment(today)
        due = [c for c, card in shown.items() if card.due <= moment]
        fresh = list(range(introduced, min(cards, introduced + new_per_day)))
        introduced += len(fresh)
        for c in due + fresh:
            if c in true:
                recalled = rng.random() < memory.get_card_retrievability(true[c], moment)
            else:
                recalled = rng.random() < 0.6  # first sight after reading the course
            grade = rng.choices((2, 3, 4), (0.1, 0.8, 0.1))[0] if recalled else 1
            true[c], _ = memory.review_card(true.get(c) or fsrs.Card(card_id=0, due=moment),
                                            fsrs.Rating(grade), moment)
            shown[c], _ = schedule.review_card(shown.get(c) or fsrs.Card(card_id=0, due=moment),
                                               fsrs.Rating(grade), moment)
            log.append(HistoryReview(card=(name, c), deck="team", rating=grade,
                                     reviewed_at=moment + timedelta(hours=9, seconds=len(log)), day=today))
    return log


def team_prior(history: list[HistoryReview], quick: bool) -> None:
    typical = fit(history)  # a real memory, not the defaults: the team is like this learner
    days, cards, team_size = (90, 120, 4) if quick else (150, 200, 6)
    rows = []
    effect = {}
    guard_rows: list[tuple[object, ...]] = []
    for spread in (0.1, 0.4):
        rng = random.Random(5)
        truths = [varied(typical, spread, rng) for _ in range(team_size + 1)]
        team = [r for k, truth in enumerate(truths[1:], start=1)
                for r in simulate_member(f"m{k}", truth, days, cards, 8, rng)]
        newcomer = simulate_member("new", truths[0], days, cards, 8, rng)
        known = newcomer[:300]
        cut = newcomer[300].reviewed_at

        def later(review: HistoryReview, cut: datetime = cut) -> bool:
            return review.reviewed_at >= cut

        started = time.perf_counter()
        prior = fit(team)
        seconds = time.perf_counter() - started
        own = fit(known)
        # the guard on the pooled team: is the prior adopted over the defaults?
        pool_cut = sorted(team, key=lambda r: r.reviewed_at)[int(len(team) * 0.8)].reviewed_at
        guarded = fit([r for r in team if r.reviewed_at < pool_cut])

        def held_out(review: HistoryReview, cut: datetime = pool_cut) -> bool:
            return review.reviewed_at >= cut

        pool_now = scores(predictions(team, fixed(DEFAULT_PARAMETERS), scored=held_out))
        pool_fit = scores(predictions(team, fixed(guarded), scored=held_out))
        assert pool_now is not None and pool_fit is not None
        adopted = pool_fit.log_loss < pool_now.log_loss
        # the per-member guard (bot.memory_models.judge_prior): the prior only if it beats the defaults on
        # the newcomer's own 300 reviews (or they have too few later-day ones to judge by)
        verdict, _, _ = memory_models.judge_prior(known, prior)
        kept = DEFAULT_PARAMETERS if verdict == "rejected" else prior
        found: dict[str, Scores] = {}
        for name, parameters in (("defaults", DEFAULT_PARAMETERS), ("own fit on 300 reviews", own),
                                 ("team prior, unguarded", prior),
                                 (f"team prior, guarded on their 300 ({verdict})", kept),
                                 ("true parameters (oracle)", truths[0])):
            s = scores(predictions(newcomer, fixed(parameters), scored=later))
            assert s is not None
            found[name.split(" (")[0]] = s
            rows.append((f"spread {spread}: {name}", s.log_loss, s.rmse_bins, s.auc, s.count))
        effect[spread] = (found["defaults"].log_loss - found["team prior, unguarded"].log_loss,
                          found["defaults"].rmse_bins - found["team prior, unguarded"].rmse_bins, adopted,
                          len(team), seconds)
        guard_rows += newcomers_guarded(typical, spread, prior, days, cards, 4 if quick else 10)
    table(f"3. Team prior: {team_size} members x {days} days ({cards} cards, 8 new a day), memories = the "
          "real learner's fit varied per weight by e^N(0, spread); a newcomer's later reviews after their "
          "first 300",
          ("model for the newcomer", "log loss", "RMSE(bins)", "AUC", "reviews"), rows)
    for spread, (d_ll, d_rmse, adopted, pooled, seconds) in effect.items():
        print(f"  spread {spread}: the team prior (fitted on {pooled:,} pooled reviews in {seconds:.3f} s) "
              f"improves the newcomer's log loss by {d_ll:+.4f} and RMSE(bins) by {d_rmse:+.4f} over the "
              f"defaults; the adopt-only-if-better guard on the pool {'adopts' if adopted else 'rejects'} it")
    table("3b. The per-member guard on more newcomers (each their own memory, same spread; the prior above): "
          f"d log loss against the defaults on their reviews after the first N (< 0: better); the guard "
          f"judges from {memory_models.MIN_PRIOR_SCORED} later-day reviews, below that the prior is used",
          ("spread, first N reviews", "newcomers", "prior better", "d, unguarded", "guard uses prior",
           "d, guarded"), guard_rows)


def newcomers_guarded(typical: Sequence[float], spread: float, prior: Sequence[float], days: int, cards: int,
                      count: int) -> list[tuple[object, ...]]:
    """For `count` newcomers with memories drawn as the team's were: the prior unguarded and guarded
    (judged on their first N reviews), each against the defaults on their later reviews."""
    rng = random.Random(11)
    newcomers = [simulate_member(f"n{k}", varied(typical, spread, rng), days, cards, 8, rng)
                 for k in range(count)]
    rows: list[tuple[object, ...]] = []
    for size in (100, 300, 600, 1000):
        raw, guarded, used = [], [], 0
        for log in newcomers:
            cut = log[size].reviewed_at

            def later(review: HistoryReview, cut: datetime = cut) -> bool:
                return review.reviewed_at >= cut

            base = scores(predictions(log, fixed(DEFAULT_PARAMETERS), scored=later))
            mine = scores(predictions(log, fixed(prior), scored=later))
            assert base is not None and mine is not None
            verdict, _, _ = memory_models.judge_prior(log[:size], prior)
            raw.append(mine.log_loss - base.log_loss)
            guarded.append(0.0 if verdict == "rejected" else raw[-1])
            used += verdict != "rejected"
        rows.append((f"spread {spread}, first {size}", count, f"{sum(d < 0 for d in raw)}/{count}",
                     statistics.mean(raw), f"{used}/{count}", statistics.mean(guarded)))
    return rows


# 4. multiple-choice grading -----------------------------------------------------------------------
@dataclass(frozen=True)
class Assumptions:
    first_sight: float  # chance a new question is known on first sight (after the flashcard, the course)
    slow_factor: float  # a guess takes this many times a recalled answer's time (log-normal, sigma 0.5)
    honesty: float  # share of guessers who tap "I guessed"


RULES = ("honest flashcard", "right = Good (before)", "slow = Hard", "first sight = Hard",
         "slow or first sight = Hard (chosen)", "tap 'I guessed' = Again")


def simulate_grading(rule: str, a: Assumptions, seed: int, cards: int = 200, days: int = 365,
                     options: int = 4) -> tuple[float, float, float, float]:
    """(mean true retention over card-days, reviews per card per year, lucky-guess share of right
    answers, mean scheduled / true stability) for one rule; memory and schedule both FSRS-6 defaults."""
    rng = random.Random(seed)
    scheduler = fsrs.Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    true: dict[int, fsrs.Card] = {}
    shown: dict[int, fsrs.Card] = {}
    times: list[int] = []
    retention, samples, reviews, guesses, rights, inflation = 0.0, 0, 0, 0, 0, []
    introduced = 0
    for day in range(days):
        moment = fsrs_moment(date(2025, 1, 1) + timedelta(days=day))
        due = [c for c, card in shown.items() if card.due <= moment]
        fresh = list(range(introduced, min(cards, introduced + 5)))
        introduced += len(fresh)
        for c in due + fresh:
            first = c not in true
            recall = a.first_sight if first else scheduler.get_card_retrievability(true[c], moment)
            recalled = rng.random() < recall
            if rule == "honest flashcard":
                grade = Rating.GOOD if recalled else Rating.AGAIN
            else:
                right = recalled or rng.random() < 1 / options
                took = round(rng.lognormvariate(math.log(8000 * (1 if recalled else a.slow_factor)), 0.5))
                rights += right
                guesses += right and not recalled
                grade = Rating.GOOD if right else Rating.AGAIN
                chosen = grade_choice(right, first_review=first, duration_ms=took, recent_ms=times[::-1][:50])
                if right:
                    times.append(took)
                if rule == "slow or first sight = Hard (chosen)":
                    grade = chosen.rating
                elif right and rule == "slow = Hard" and chosen.reason and "slower" in chosen.reason:
                    grade = Rating.HARD
                elif right and rule == "first sight = Hard" and first:
                    grade = Rating.HARD
                elif right and rule == "tap 'I guessed' = Again" and not recalled:
                    grade = Rating.AGAIN if rng.random() < a.honesty else grade
            true[c], _ = scheduler.review_card(true.get(c) or fsrs.Card(card_id=0, due=moment),
                                               fsrs.Rating.Good if recalled else fsrs.Rating.Again, moment)
            shown[c], _ = scheduler.review_card(shown.get(c) or fsrs.Card(card_id=0, due=moment),
                                                fsrs.Rating(int(grade)), moment)
            reviews += 1
            inflation.append((shown[c].stability or 1) / (true[c].stability or 1))
        for card in true.values():
            retention += scheduler.get_card_retrievability(card, moment)
            samples += 1
    return (retention / samples, reviews / len(true) * 365 / days, guesses / rights if rights else 0.0,
            statistics.mean(inflation))


def mcq_grading(quick: bool) -> None:
    seeds = (0,) if quick else (0, 1)
    cards, days = (120, 200) if quick else (200, 365)
    for a in (Assumptions(first_sight=0.6, slow_factor=1.8, honesty=0.8),
              Assumptions(first_sight=0.6, slow_factor=1.3, honesty=0.8),
              Assumptions(first_sight=0.25, slow_factor=1.8, honesty=0.5)):
        rows = []
        for rule in RULES:
            runs = [simulate_grading(rule, a, seed, cards, days) for seed in seeds]
            rows.append((rule, *(statistics.mean(r[i] for r in runs) for i in range(4))))
        table(f"4. Multiple choice (4 options), {cards} cards x {days} days: known on first sight "
              f"{a.first_sight}, a guess takes {a.slow_factor}x a recalled answer's time, {a.honesty:.0%} of "
              "guessers would tap",
              ("grading", "retention", "reviews/card/year", "lucky guesses", "stability x"), rows)


# 5. one concept a day -----------------------------------------------------------------------------
def concept_month(quick: bool) -> None:
    deck = load_deck_file(next(p for p in shipped_decks() if p.stem == "pretrained-models-cv")).deck
    concept = {c.id: c.concept for c in deck.cards}
    rows = []
    plain = replace(deck, cards=tuple(replace(c, concept=None) for c in deck.cards))
    for label, shown_deck in (("concepts left out (the rules off)", plain), ("with the concept rules", deck)):
        clashes, member_days, giveaways, first_day_mcqs = run_month(shown_deck, concept, 8 if quick else 20)
        rows.append((label, member_days, clashes / member_days, giveaways, first_day_mcqs))
    table("5. The shipped deck over 30 days, each member answering their whole daily review (failing ~25 %)",
          ("planner", "member-days", "two cards on one concept", "failed flashcard, then its question",
           "questions on day one"), rows)
    print("  day one in deck order (before kinds were interleaved): the deck's first 5 cards, 5 flashcards "
          "and no question")


def run_month(deck: Deck, concept: dict[str, str | None], members: int) -> tuple[int, int, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tutor = Tutor(open_db(Path(tmp) / "month.db"), fuzzing=True)
        tutor.import_deck(deck)
        rng = random.Random(9)
        users = [f"m{i}" for i in range(members)]
        for user in users:
            tutor.ensure_learner(user, tz="Europe/Berlin")
            tutor.join(user, deck.slug)
        start = datetime(2025, 3, 3, 7, 30, tzinfo=UTC)
        clashes = member_days = giveaways = day_one_mcqs = 0
        for day in range(30):
            for user in users:
                now = start + timedelta(days=day)
                seen: list[tuple[str, bool]] = []  # (card, failed) in order
                while due := tutor.due_cards(user, now):
                    item = due[0]
                    failed = rng.random() < 0.25
                    if isinstance(item.card, MultipleChoice):
                        answer = item.card.answer or 0
                        choice = (answer + 1) % len(item.card.options) if failed else answer
                        tutor.answer_choice(user, item.deck, item.card.id, choice, seq=item.seq, now=now,
                                            duration_ms=rng.randint(4000, 15000), source="dm")
                        day_one_mcqs += day == 0
                    elif isinstance(item.card, Prompt):  # graded by the concepts its answer covers
                        text = "no idea" if failed else item.card.model_answer or item.card.question
                        tutor.answer_prompt(user, item.deck, item.card.id, text, seq=item.seq, now=now,
                                            source="dm")
                    else:
                        tutor.grade(user, item.deck, item.card.id, Rating.AGAIN if failed else Rating.GOOD,
                                    seq=item.seq, now=now, duration_ms=8000)
                    seen.append((item.card.id, failed and isinstance(item.card, Flashcard)))
                    now += timedelta(seconds=40)
                if not seen:
                    continue
                member_days += 1
                ideas = [concept[c] for c, _ in seen if concept[c]]
                clashes += len(ideas) > len(set(ideas))
                for n, (card_id, failed_flashcard) in enumerate(seen):
                    if failed_flashcard and concept[card_id]:
                        giveaways += any(concept[c] == concept[card_id] and c.startswith("mcq")
                                         for c, _ in seen[n + 1:])
        return clashes, member_days, giveaways, day_one_mcqs / members


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter simulations (a smoke run)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    history = load_history()
    real_history(history)
    threshold(history, args.quick)
    team_prior(history, args.quick)
    mcq_grading(args.quick)
    concept_month(args.quick)
    print(f"\n(all in {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
