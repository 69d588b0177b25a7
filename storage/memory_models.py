"""SQL for memory models: every FSRS fit of a member's or a deck's (team prior) history, adopted or
not, with its date, review counts and both scores; the latest adopted one is the one in use. And every
check of a team prior on one member's own reviews (prior_checks): whether the prior schedules them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.timefmt import iso, parse

SCOPES = ("member", "team")
OUTCOMES = ("adopted", "worse", "too_few", "failed")


@dataclass(frozen=True)
class FitRow:
    """One fit. Scores are srs-benchmark's log loss, RMSE(bins) and AUC on the held-out reviews, of the
    parameters in use then (`current`) and of the fitted ones; None where there was nothing to score."""

    scope: str  # member | team
    owner: str  # user_id | deck slug
    fitted_at: datetime  # UTC
    reviews: int
    trained_on: int
    scored: int
    outcome: str  # adopted | worse | too_few | failed
    parameters: tuple[float, ...] | None
    current_parameters: tuple[float, ...]
    log_loss_current: float | None = None
    log_loss_fitted: float | None = None
    rmse_bins_current: float | None = None
    rmse_bins_fitted: float | None = None
    auc_current: float | None = None
    auc_fitted: float | None = None
    seconds: float | None = None
    detail: str | None = None
    id: int | None = None

    @property
    def adopted(self) -> bool:
        return self.outcome == "adopted"


_COLUMNS = ("scope, owner, fitted_at, reviews, trained_on, scored, outcome, parameters, current_parameters,"
            " log_loss_current, log_loss_fitted, rmse_bins_current, rmse_bins_fitted, auc_current,"
            " auc_fitted, seconds, detail, id")


def _row(r: tuple[Any, ...]) -> FitRow:
    return FitRow(scope=r[0], owner=r[1], fitted_at=parse(r[2]), reviews=r[3], trained_on=r[4], scored=r[5],
                  outcome=r[6], parameters=None if r[7] is None else tuple(json.loads(r[7])),
                  current_parameters=tuple(json.loads(r[8])), log_loss_current=r[9], log_loss_fitted=r[10],
                  rmse_bins_current=r[11], rmse_bins_fitted=r[12], auc_current=r[13], auc_fitted=r[14],
                  seconds=r[15], detail=r[16], id=r[17])


def record_fit(db: sqlite_utils.Database, fit: FitRow) -> int:
    """Store a fit (inside the caller's transaction when there is one); returns its id."""
    if fit.scope not in SCOPES or fit.outcome not in OUTCOMES:
        raise ValueError(f"a fit is of scope {SCOPES} with outcome {OUTCOMES}, not {fit.scope}/{fit.outcome}")
    cursor = db.conn.execute(
        f"INSERT INTO memory_models ({_COLUMNS.removesuffix(', id')})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (fit.scope, fit.owner, iso(fit.fitted_at), fit.reviews, fit.trained_on, fit.scored, fit.outcome,
         None if fit.parameters is None else json.dumps(list(fit.parameters)),
         json.dumps(list(fit.current_parameters)), fit.log_loss_current, fit.log_loss_fitted,
         fit.rmse_bins_current, fit.rmse_bins_fitted, fit.auc_current, fit.auc_fitted, fit.seconds,
         fit.detail))
    return int(cursor.lastrowid or 0)


def in_use(db: sqlite_utils.Database, scope: str, owner: str) -> FitRow | None:
    """The latest adopted fit of the owner: the parameters in use."""
    row = db.conn.execute(f"SELECT {_COLUMNS} FROM memory_models WHERE scope = ? AND owner = ?"
                          " AND outcome = 'adopted' ORDER BY id DESC LIMIT 1", (scope, owner)).fetchone()
    return None if row is None else _row(row)


def latest_fits(db: sqlite_utils.Database, scope: str) -> dict[str, FitRow]:
    """owner -> its latest fit of any outcome (when it was last tried, on how many reviews)."""
    rows = db.conn.execute(
        f"SELECT {_COLUMNS} FROM memory_models m WHERE scope = ? AND id = (SELECT max(id)"
        " FROM memory_models WHERE scope = m.scope AND owner = m.owner)", (scope,))
    return {r[1]: _row(r) for r in rows}


PRIOR_OUTCOMES = ("used", "rejected", "too_few")


@dataclass(frozen=True)
class PriorCheck:
    """Whether a deck's team prior schedules one member: it is used only if it beat the defaults (the
    parameters otherwise in use) on the member's own later-day reviews of the deck, or when they have
    too few of those to judge by. Scores are srs-benchmark's, of the defaults (`current`) and the prior."""

    user_id: str
    deck: str
    team_fit_id: int  # memory_models.id of the team prior judged
    checked_at: datetime  # UTC
    reviews: int
    scored: int
    outcome: str  # used | rejected | too_few
    log_loss_current: float | None = None
    log_loss_prior: float | None = None
    rmse_bins_current: float | None = None
    rmse_bins_prior: float | None = None
    auc_current: float | None = None
    auc_prior: float | None = None
    detail: str | None = None
    id: int | None = None

    @property
    def uses_prior(self) -> bool:
        return self.outcome != "rejected"


_CHECK_COLUMNS = ("user_id, deck, team_fit_id, checked_at, reviews, scored, outcome, log_loss_current,"
                  " log_loss_prior, rmse_bins_current, rmse_bins_prior, auc_current, auc_prior, detail, id")


def _check(r: tuple[Any, ...]) -> PriorCheck:
    return PriorCheck(user_id=r[0], deck=r[1], team_fit_id=r[2], checked_at=parse(r[3]), reviews=r[4],
                      scored=r[5], outcome=r[6], log_loss_current=r[7], log_loss_prior=r[8],
                      rmse_bins_current=r[9], rmse_bins_prior=r[10], auc_current=r[11], auc_prior=r[12],
                      detail=r[13], id=r[14])


def record_prior_check(db: sqlite_utils.Database, check: PriorCheck) -> int:
    """Store a check (inside the caller's transaction when there is one); returns its id."""
    if check.outcome not in PRIOR_OUTCOMES:
        raise ValueError(f"a prior check's outcome is one of {PRIOR_OUTCOMES}, not {check.outcome!r}")
    cursor = db.conn.execute(
        f"INSERT INTO prior_checks ({_CHECK_COLUMNS.removesuffix(', id')})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (check.user_id, check.deck, check.team_fit_id, iso(check.checked_at), check.reviews, check.scored,
         check.outcome, check.log_loss_current, check.log_loss_prior, check.rmse_bins_current,
         check.rmse_bins_prior, check.auc_current, check.auc_prior, check.detail))
    return int(cursor.lastrowid or 0)


def latest_prior_check(db: sqlite_utils.Database, user_id: str, deck: str) -> PriorCheck | None:
    """The member's latest check of the deck's team prior (of whichever prior was judged)."""
    row = db.conn.execute(f"SELECT {_CHECK_COLUMNS} FROM prior_checks WHERE user_id = ? AND deck = ?"
                          " ORDER BY id DESC LIMIT 1", (user_id, deck)).fetchone()
    return None if row is None else _check(row)


def latest_prior_checks(db: sqlite_utils.Database, deck: str) -> dict[str, PriorCheck]:
    """user_id -> their latest check of the deck's team prior."""
    rows = db.conn.execute(
        f"SELECT {_CHECK_COLUMNS} FROM prior_checks p WHERE deck = ? AND id = (SELECT max(id)"
        " FROM prior_checks WHERE user_id = p.user_id AND deck = p.deck)", (deck,))
    return {r[0]: _check(r) for r in rows}
