"""Which FSRS parameters schedule whom, and fitting them: per member, and per deck (a team prior).

- In use for (member, deck): the member's own adopted fit; else the deck's team prior (fitted on the
  pooled reviews of everyone on the deck) unless its check on the member's own reviews of the deck
  rejected it; else FSRS's defaults.
- The per-member guard on the team prior (a pool of diverse members can fit one of them worse than the
  defaults do): both the defaults and the prior replay the member's reviews of the deck and are scored
  on its later-day ones; the prior is used only if its log loss is lower. Under MIN_PRIOR_SCORED such
  reviews the verdict is noise (the bench's newcomers did better with the prior unjudged), and the
  prior is used. Checked when a team prior is adopted, and again by `run_due_fits` every
  RECHECK_PRIOR_AFTER_REVIEWS new reviews; every check is stored (storage.memory_models.PriorCheck).
- A fit is tried only on a history of MIN_REVIEWS reviews or more (the bench showed smaller fits doing
  worse than the defaults). The newest HELD_OUT_SHARE of the history is held out; the fit learns from
  the rest; both the parameters in use and the fitted ones replay the whole history and are scored on
  the held-out later-day reviews (bot.fsrs_fit). The fit is adopted only if its log loss is lower.
  Every fit is stored (storage.memory_models) with its date, review counts and both scores.
- On adoption the affected cards' memory state (stability, difficulty) is recomputed from their
  review log with the new parameters, in the same transaction; due dates stay (as in Anki).
- `run_due_fits` is the background job (bot/schedule.py runs it on its own thread, never in a
  request): a member or deck is due for a fit weekly, or after REFIT_AFTER_REVIEWS new reviews. Each
  owner is fitted on its own; one that fails is recorded as failed and the others go on.
"""

from __future__ import annotations

import logging
import time as clock
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from bot.fsrs_fit import FitError, HistoryReview, Scores, fit, predictions, scores
from bot.srs import DEFAULT_PARAMETERS, Srs, replay
from bot.tutor_types import MemoryModelStatus
from storage import decks as deck_store
from storage import imported_reviews as imported_store
from storage import memory_models as model_store
from storage import reviews as review_store
from storage.db import transaction
from storage.memory_models import FitRow, PriorCheck

log = logging.getLogger(__name__)

MIN_REVIEWS = 4000
HELD_OUT_SHARE = 0.2
MIN_SCORED = 100  # held-out later-day reviews needed to compare two models at all
REFIT_AFTER = timedelta(days=7)
REFIT_AFTER_REVIEWS = 500
# a member's later-day reviews of a deck from which its team prior is judged: bench/fsrs_quality.py 3b
# found the verdict on fewer (~300 reviews, ~200 later-day) picking worse than the prior unguarded on
# average at spreads 0.1 and 0.4, and from ~600 reviews (~430 later-day) as good or better
MIN_PRIOR_SCORED = 400
RECHECK_PRIOR_AFTER_REVIEWS = 50


@dataclass(frozen=True)
class InUse:
    """The parameters scheduling a member's cards of one deck, and where they come from."""

    kind: str  # personal | team | default
    parameters: tuple[float, ...]
    fit: FitRow | None  # the adopted fit (None: defaults)
    check: PriorCheck | None = None  # the team prior's latest check on this member (team, or rejected)

    @property
    def deck(self) -> str | None:
        return self.fit.owner if self.fit is not None and self.kind == "team" else None


@dataclass(frozen=True)
class FitReport:
    """What one fit did: the JSON of `tutor optimize`."""

    scope: str  # member | team
    owner: str
    reviews: int
    trained_on: int
    scored: int
    outcome: str  # adopted | worse | too_few | failed
    parameters: tuple[float, ...]  # fitted (or, when there was no fit, the ones in use)
    current: Scores | None
    fitted: Scores | None
    seconds: float
    detail: str | None

    @property
    def adopted(self) -> bool:
        return self.outcome == "adopted"

    def to_dict(self) -> dict[str, Any]:
        def pair(name: str) -> dict[str, float | None]:
            return {"current": None if self.current is None else getattr(self.current, name),
                    "fitted": None if self.fitted is None else getattr(self.fitted, name)}

        return {"scope": self.scope, "owner": self.owner, "reviews": self.reviews,
                "trained_on": self.trained_on, "scored": self.scored, "adopted": self.adopted,
                "outcome": self.outcome,
                "parameters": list(self.parameters), "log_loss": pair("log_loss"),
                "rmse_bins": pair("rmse_bins"), "auc": pair("auc"), "seconds": self.seconds,
                "detail": self.detail}


def in_use(db: sqlite_utils.Database, user_id: str, deck: str | None) -> InUse:
    own = model_store.in_use(db, "member", user_id)
    if own is not None and own.parameters is not None:
        return InUse("personal", own.parameters, own)
    team = None if deck is None else model_store.in_use(db, "team", deck)
    if deck is not None and team is not None and team.parameters is not None:
        check = model_store.latest_prior_check(db, user_id, deck)
        if check is not None and check.team_fit_id != team.id:
            check = None  # judged an earlier prior: this one is used until it is checked
        if check is None or check.uses_prior:
            return InUse("team", team.parameters, team, check)
        return InUse("default", DEFAULT_PARAMETERS, None, check)
    return InUse("default", DEFAULT_PARAMETERS, None)


def status(db: sqlite_utils.Database, user_id: str, decks: Sequence[str]) -> MemoryModelStatus:
    """The member's memory model: personal, the team prior of their first deck that has one, or the
    defaults; with the size of their history."""
    reviews = review_store.review_count(db, user_id) + imported_store.imported_count(db, user_id)
    each = [in_use(db, user_id, d) for d in decks]
    found = next((u for u in each if u.kind != "default"), in_use(db, user_id, None))
    fit_row = found.fit
    rejected = next((u.check for u in each if u.kind == "default" and u.check is not None), None)
    return MemoryModelStatus(kind=found.kind, reviews=reviews, needed=MIN_REVIEWS,
                             fitted_at=None if fit_row is None else fit_row.fitted_at,
                             fit_reviews=None if fit_row is None else fit_row.trained_on, deck=found.deck,
                             prior_rejected=None if rejected is None else rejected.deck,
                             prior_scored=None if rejected is None else rejected.scored)


def member_history(db: sqlite_utils.Database, user_id: str) -> list[HistoryReview]:
    """The member's reviews here and the history they imported, oldest first."""
    here = [HistoryReview(card=(r.deck, r.card_id), deck=r.deck, rating=r.rating, reviewed_at=r.reviewed_at,
                          day=r.learning_day) for r in review_store.rated_reviews(db, user_id=user_id)]
    brought = [HistoryReview(card=("import", r.source_card), deck=None, rating=r.rating,
                             reviewed_at=r.reviewed_at, day=r.learning_day)
               for r in imported_store.imported_of(db, user_id)]
    return sorted(here + brought, key=lambda r: r.reviewed_at)


def team_history(db: sqlite_utils.Database, deck: str) -> list[HistoryReview]:
    """Everyone's reviews of the deck, each member's card its own card, oldest first."""
    return [HistoryReview(card=(r.user_id, r.card_id), deck=deck, rating=r.rating, reviewed_at=r.reviewed_at,
                          day=r.learning_day) for r in review_store.rated_reviews(db, deck=deck)]


def _value(found: Scores | None, name: str) -> float | None:
    return None if found is None else getattr(found, name)


def _evaluate(scope: str, owner: str, history: Sequence[HistoryReview],
              current_for: dict[str | None, tuple[float, ...]], now: datetime) -> tuple[FitRow, FitReport]:
    """Fit on all but the newest held-out share, score both models on it; decide (nothing stored).
    `current_for` maps a deck to the parameters in use for it; None maps the rest (and is stored)."""
    started = clock.perf_counter()
    current_default = current_for[None]

    def current(deck: str | None) -> tuple[float, ...]:
        return current_for.get(deck, current_default)

    def done(outcome: str, trained: int = 0, scored: int = 0, fitted_params: tuple[float, ...] | None = None,
             now_scores: Scores | None = None, fit_scores: Scores | None = None,
             detail: str | None = None) -> tuple[FitRow, FitReport]:
        seconds = clock.perf_counter() - started
        row = FitRow(scope=scope, owner=owner, fitted_at=now, reviews=len(history), trained_on=trained,
                     scored=scored, outcome=outcome, parameters=fitted_params,
                     current_parameters=current_default,
                     log_loss_current=_value(now_scores, "log_loss"),
                     log_loss_fitted=_value(fit_scores, "log_loss"),
                     rmse_bins_current=_value(now_scores, "rmse_bins"),
                     rmse_bins_fitted=_value(fit_scores, "rmse_bins"),
                     auc_current=_value(now_scores, "auc"), auc_fitted=_value(fit_scores, "auc"),
                     seconds=seconds, detail=detail)
        report = FitReport(scope=scope, owner=owner, reviews=len(history), trained_on=trained, scored=scored,
                           outcome=outcome, parameters=fitted_params or current_default, current=now_scores,
                           fitted=fit_scores, seconds=seconds, detail=detail)
        return row, report

    if len(history) < MIN_REVIEWS:
        return done("too_few", detail=f"a fit is tried from {MIN_REVIEWS:,} reviews")
    cut = history[int(len(history) * (1 - HELD_OUT_SHARE))].reviewed_at
    train = [r for r in history if r.reviewed_at < cut]
    try:
        fitted_params = fit(train)
    except FitError as exc:
        return done("failed", trained=len(train), detail=str(exc))

    def held_out(review: HistoryReview) -> bool:
        return review.reviewed_at >= cut

    srs = Srs(fuzzing=False)
    now_scores = scores(predictions(history, current, scored=held_out, srs=srs))
    fit_scores = scores(predictions(history, lambda _: fitted_params, scored=held_out, srs=srs))
    scored = 0 if now_scores is None else now_scores.count
    if now_scores is None or fit_scores is None or scored < MIN_SCORED:
        return done("too_few", trained=len(train), scored=scored, fitted_params=fitted_params,
                    now_scores=now_scores, fit_scores=fit_scores,
                    detail=f"{scored} held-out later-day reviews to score; {MIN_SCORED} needed")
    better = fit_scores.log_loss < now_scores.log_loss
    detail = None if better else "the fit did not beat the parameters in use on the held-out reviews"
    return done("adopted" if better else "worse", trained=len(train), scored=scored,
                fitted_params=fitted_params, now_scores=now_scores, fit_scores=fit_scores, detail=detail)


def _recompute_memory(db: sqlite_utils.Database, user_id: str, decks: Iterable[str] | None,
                      parameters: Sequence[float], srs: Srs) -> int:
    """Replay the member's cards (of `decks`, or all) with `parameters` and store the memory state
    they end in. Inside the caller's transaction; returns the number of cards."""
    wanted = None if decks is None else set(decks)
    retention = {slug: value for slug, (_, value) in deck_store.deck_revisions(db).items()}
    cards: dict[tuple[str, str], list[review_store.RatedReview]] = defaultdict(list)
    for review in review_store.rated_reviews(db, user_id=user_id):
        if wanted is None or review.deck in wanted:
            cards[review.deck, review.card_id].append(review)
    rows = []
    for (deck, card_id), history in cards.items():
        scheduler = srs.scheduler(parameters, retention.get(deck, 0.9))
        *_, (_, _, card) = replay(scheduler, ((r.rating, r.learning_day) for r in history))
        rows.append((card.stability, card.difficulty, user_id, deck, card_id))
    review_store.set_memory(db, rows)
    return len(rows)


def fit_member(db: sqlite_utils.Database, user_id: str, now: datetime | None = None) -> FitReport:
    """Fit the member's parameters now; adopt them if they beat the ones in use. Stored either way,
    except when the history is too small to try."""
    now = now or datetime.now(UTC)
    history = member_history(db, user_id)
    counts: dict[str | None, int] = defaultdict(int)
    for review in history:
        counts[review.deck] += 1
    current_for = {deck: in_use(db, user_id, deck).parameters for deck in counts}
    # the row stores the parameters in use where most of the history is
    current_for[None] = (current_for[max(counts, key=lambda d: counts[d])] if counts
                         else in_use(db, user_id, None).parameters)
    row, report = _evaluate("member", user_id, history, current_for, now)
    _store(db, row, lambda params: _recompute_memory(db, user_id, None, params, Srs(fuzzing=False)))
    return report


def fit_team(db: sqlite_utils.Database, deck: str, now: datetime | None = None) -> FitReport:
    """Fit the team prior of `deck` on everyone's reviews of it; adopt it if it beats the one in use."""
    now = now or datetime.now(UTC)
    history = team_history(db, deck)
    team = model_store.in_use(db, "team", deck)
    current = team.parameters if team is not None and team.parameters is not None else DEFAULT_PARAMETERS
    row, report = _evaluate("team", deck, history, {None: current}, now)

    def recompute(_: tuple[float, ...]) -> None:
        srs = Srs(fuzzing=False)
        adopted = model_store.in_use(db, "team", deck)  # the row just recorded
        assert adopted is not None
        for user_id in sorted({r.card[0] for r in history if isinstance(r.card, tuple)}):
            if model_store.in_use(db, "member", user_id) is None:  # members with their own fit keep it
                check_prior(db, user_id, deck, adopted, now)  # the prior only where it beats the defaults
                _recompute_memory(db, user_id, [deck], in_use(db, user_id, deck).parameters, srs)

    _store(db, row, recompute)
    return report


def judge_prior(history: Sequence[HistoryReview], prior: Sequence[float]
                ) -> tuple[str, Scores | None, Scores | None]:
    """(used | rejected | too_few, the defaults' scores, the prior's) on the member's own history:
    both replay all of it and are scored on its later-day reviews."""
    srs = Srs(fuzzing=False)
    current = scores(predictions(history, lambda _: DEFAULT_PARAMETERS, srs=srs))
    mine = scores(predictions(history, lambda _: prior, srs=srs))
    if current is None or mine is None or current.count < MIN_PRIOR_SCORED:
        return "too_few", current, mine
    return ("used" if mine.log_loss < current.log_loss else "rejected"), current, mine


def check_prior(db: sqlite_utils.Database, user_id: str, deck: str, team: FitRow,
                now: datetime) -> PriorCheck:
    """Judge the deck's team prior `team` on the member's reviews of the deck and store the check
    (inside the caller's transaction when there is one)."""
    history = [r for r in member_history(db, user_id) if r.deck == deck]
    assert team.parameters is not None and team.id is not None
    outcome, current, prior = judge_prior(history, team.parameters)
    detail = {"used": None,
              "rejected": "the team prior did worse than the defaults on the member's reviews",
              "too_few": f"{MIN_PRIOR_SCORED} later-day reviews needed to judge it; the prior is used",
              }[outcome]
    check = PriorCheck(user_id=user_id, deck=deck, team_fit_id=team.id, checked_at=now, reviews=len(history),
                       scored=0 if current is None else current.count, outcome=outcome,
                       log_loss_current=_value(current, "log_loss"),
                       log_loss_prior=_value(prior, "log_loss"),
                       rmse_bins_current=_value(current, "rmse_bins"),
                       rmse_bins_prior=_value(prior, "rmse_bins"),
                       auc_current=_value(current, "auc"), auc_prior=_value(prior, "auc"), detail=detail)
    model_store.record_prior_check(db, check)
    return check


def due_prior_checks(db: sqlite_utils.Database) -> list[tuple[str, str, FitRow]]:
    """(user_id, deck, team prior) of each member without a fit of their own whose check of the deck's
    team prior in use is missing or RECHECK_PRIOR_AFTER_REVIEWS reviews behind (from MIN_PRIOR_SCORED
    reviews of the deck: fewer cannot be judged)."""
    found = []
    for deck in sorted(review_store.review_counts(db, "deck")):
        team = model_store.in_use(db, "team", deck)
        if team is None or team.parameters is None:
            continue
        checks = model_store.latest_prior_checks(db, deck)
        for user_id, count in sorted(review_store.member_deck_review_counts(db, deck).items()):
            last = checks.get(user_id)
            if count < MIN_PRIOR_SCORED or model_store.in_use(db, "member", user_id) is not None:
                continue
            behind = last is not None and count - last.reviews >= RECHECK_PRIOR_AFTER_REVIEWS
            if last is None or last.team_fit_id != team.id or behind:
                found.append((user_id, deck, team))
    return found


def run_due_prior_checks(db: sqlite_utils.Database, now: datetime) -> list[PriorCheck]:
    """Check every team prior due for it on its member; where the parameters in use change, the
    member's cards of the deck get their memory state recomputed. One failure is logged, the others go on."""
    done = []
    for user_id, deck, team in due_prior_checks(db):
        try:
            with transaction(db):
                before = in_use(db, user_id, deck).parameters
                check = check_prior(db, user_id, deck, team, now)
                after = in_use(db, user_id, deck).parameters
                if after != before:
                    _recompute_memory(db, user_id, [deck], after, Srs(fuzzing=False))
        except Exception:  # one member's broken history must not stop the others' checks
            log.exception("checking the team prior of %s on %s failed", deck, user_id)
            continue
        done.append(check)
        log.info("team prior of %s on %s: %s (%d later-day reviews)", deck, user_id, check.outcome,
                 check.scored)
    return done


def _store(db: sqlite_utils.Database, row: FitRow, on_adopt: Callable[[tuple[float, ...]], object]) -> None:
    if row.outcome == "too_few" and row.parameters is None:
        return  # nothing was fitted: no row, or every check of a small history would add one
    with transaction(db):
        model_store.record_fit(db, row)
        if row.adopted and row.parameters is not None:
            on_adopt(row.parameters)


def due_fits(db: sqlite_utils.Database, now: datetime) -> list[tuple[str, str, int]]:
    """(scope, owner, reviews) of every member and deck whose history is big enough and whose last
    fit is a week old or REFIT_AFTER_REVIEWS reviews behind (or that was never fitted)."""
    found = []
    members = review_store.review_counts(db, "user_id")
    for user_id, count in imported_store.imported_counts(db).items():
        members[user_id] = members.get(user_id, 0) + count
    for scope, counts in (("member", members), ("team", review_store.review_counts(db, "deck"))):
        latest = model_store.latest_fits(db, scope)
        for owner, count in sorted(counts.items()):
            if count < MIN_REVIEWS:
                continue
            last = latest.get(owner)
            stale = last is None or now - last.fitted_at >= REFIT_AFTER
            if stale or last is not None and count - last.reviews >= REFIT_AFTER_REVIEWS:
                found.append((scope, owner, count))
    return found


def run_due_fits(db: sqlite_utils.Database, now: datetime | None = None) -> list[FitReport]:
    """Fit every member and deck due for it, one at a time; a failure is stored as a failed fit and
    the others go on. Then re-check the team priors due for it on their members (run_due_prior_checks).
    The bot's background job."""
    now = now or datetime.now(UTC)
    reports = []
    for scope, owner, count in due_fits(db, now):
        try:
            report = fit_member(db, owner, now) if scope == "member" else fit_team(db, owner, now)
        except Exception as exc:  # one member's broken history must not stop the others' fits
            log.exception("fitting the %s memory model of %s failed", scope, owner)
            detail = f"{type(exc).__name__}: {exc}"[:500]
            with transaction(db):
                model_store.record_fit(db, FitRow(scope=scope, owner=owner, fitted_at=now, reviews=count,
                                                  trained_on=0, scored=0, outcome="failed", parameters=None,
                                                  current_parameters=DEFAULT_PARAMETERS, detail=detail))
            continue
        reports.append(report)
        log.info("memory model of %s %s: %s (%d reviews, %.2f s)", scope, owner, report.outcome,
                 report.reviews, report.seconds)
    run_due_prior_checks(db, now)
    return reports
