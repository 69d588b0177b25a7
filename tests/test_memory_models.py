"""Per-member FSRS parameters and the team prior, on the real history in ../shared/srs/ split among
three members: the guards (too few reviews keep the defaults; a fit that does not beat the parameters
in use is not adopted), the team prior, the stored scores, and the background job's isolation."""

from __future__ import annotations

import csv
import json
import shutil
import threading
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tutor_helpers import HAS_REVIEW_LOG, NO_REVIEW_LOG, REVIEW_LOGS, make_tutor

from bot import learning_day as days
from bot import memory_models
from bot.cli import main
from bot.fsrs_fit import HistoryReview, fit
from bot.history_import import HistoryRow, import_history
from bot.srs import DEFAULT_PARAMETERS, Plan, Srs, replay
from bot.tutor import Tutor
from content.model import Deck, Flashcard
from storage import memory_models as model_store
from storage import reviews as review_store
from storage.db import transaction
from storage.reviews import CardState, ReviewRecord

REVIEWS = REVIEW_LOGS
pytestmark = pytest.mark.skipif(not HAS_REVIEW_LOG, reason=NO_REVIEW_LOG)
MEMBERS = ("ana", "ben", "cy")
NOW = datetime(2024, 10, 7, 12, 0, tzinfo=UTC)  # the day after the history's last review


def josh() -> list[HistoryRow]:
    with REVIEWS[0].open(newline="") as handle:
        return sorted((HistoryRow(line=n, card_id=r["card_id"], rating=int(r["review_rating"]),
                                  reviewed_at=datetime.fromisoformat(r["review_time"]),
                                  duration_ms=int(r["review_duration"]))
                       for n, r in enumerate(csv.DictReader(handle), start=2)), key=lambda r: r.reviewed_at)


def card(source_id: str) -> Flashcard:
    return Flashcard(front=f"card {source_id}", back="its answer")


@pytest.fixture(scope="module")
def team_db(tmp_path_factory) -> Path:
    """A deck of the history's 1,205 cards, each studied by one of three members (a third each), the
    reviews replayed through the engine and bulk-stored; built once, copied for each test."""
    rows = josh()
    path = tmp_path_factory.mktemp("team") / "team.db"
    tutor = make_tutor(path)
    sources = sorted({r.card_id for r in rows})
    tutor.import_deck(Deck(slug="josh", title="Josh's cards", cards=tuple(card(i) for i in sources)))
    for user in MEMBERS:
        tutor.ensure_learner(user, tz="UTC")
        tutor.join(user, "josh")
    srs, plan = Srs(fuzzing=False), Plan(tz="UTC")
    states: dict[tuple[str, str], CardState] = {}
    records = []
    for row in rows:
        user = MEMBERS[zlib.crc32(row.card_id.encode()) % 3]
        card_id = card(row.card_id).id
        before = states.get((user, card_id))
        done = srs.review(before, user_id=user, deck="josh", card_id=card_id, rating=row.rating,
                          now=row.reviewed_at, plan=plan)
        records.append(ReviewRecord(user_id=user, deck="josh", card_id=card_id, seq=done.after.seq,
                                    rating=row.rating, choice=None, correct=None, reviewed_at=row.reviewed_at,
                                    learning_day=days.learning_day(row.reviewed_at, "UTC"),
                                    duration_ms=row.duration_ms, source="import", before=before,
                                    due=done.after.due, leech=done.leech))
        states[user, card_id] = done.after
    with transaction(tutor.db):
        review_store.insert_history(tutor.db, states.values(), records)
    tutor.db.conn.close()  # checkpoints the WAL into the file, so a copy is whole
    return path


@pytest.fixture
def tutor(team_db, tmp_path) -> Tutor:
    copy = tmp_path / "t.db"
    shutil.copy(team_db, copy)
    return make_tutor(copy)


def test_too_few_reviews_keep_the_defaults(tmp_path):
    tutor = make_tutor(tmp_path / "t.db")
    import_history(tutor, "dee", josh()[:900], tz="UTC")
    report = memory_models.fit_member(tutor.db, "dee", NOW)
    assert (report.outcome, report.adopted, report.reviews) == ("too_few", False, 900)
    assert report.parameters == DEFAULT_PARAMETERS and report.current is None and report.fitted is None
    assert memory_models.in_use(tutor.db, "dee", None).kind == "default"
    assert model_store.latest_fits(tutor.db, "member") == {}  # nothing was fitted: nothing stored
    status = memory_models.status(tutor.db, "dee", [])
    assert (status.kind, status.personalised, status.reviews, status.needed) == ("default", False, 900, 4000)
    assert memory_models.due_fits(tutor.db, NOW) == []


def test_team_prior_then_a_member_fit_only_where_it_beats_the_prior(tutor):
    counts = {u: review_store.review_count(tutor.db, u) for u in MEMBERS}
    assert counts == {"ana": 4187, "ben": 4131, "cy": 4262}
    team = memory_models.fit_team(tutor.db, "josh", NOW)
    assert (team.outcome, team.reviews, team.trained_on) == ("adopted", 12_580, 10_064)
    assert team.current is not None and team.fitted is not None
    assert team.fitted.log_loss < team.current.log_loss and team.scored == team.current.count > 1000
    for user in MEMBERS:  # nobody has a fit of their own yet: all start from the team's
        assert memory_models.in_use(tutor.db, user, "josh").kind == "team"

    reports = {user: memory_models.fit_member(tutor.db, user, NOW) for user in MEMBERS}
    assert {u: r.outcome for u, r in reports.items()} == {"ana": "worse", "ben": "worse", "cy": "adopted"}
    for user, report in reports.items():
        assert report.current is not None and report.fitted is not None
        assert (report.fitted.log_loss < report.current.log_loss) == report.adopted
        kind = memory_models.in_use(tutor.db, user, "josh").kind
        assert kind == ("personal" if report.adopted else "team")  # a worse fit is not adopted
    # every fit is stored with its date, review counts and both scores
    stored = model_store.latest_fits(tutor.db, "member")
    assert set(stored) == set(MEMBERS)
    row = stored["cy"]
    assert (row.outcome, row.fitted_at, row.reviews) == ("adopted", NOW, 4262)
    assert row.parameters == reports["cy"].parameters and row.current_parameters == team.parameters
    assert None not in (row.log_loss_current, row.log_loss_fitted, row.rmse_bins_current,
                        row.rmse_bins_fitted)
    assert tutor.stats("cy", NOW).memory.personalised  # type: ignore[union-attr]
    assert tutor.stats("ana", NOW).memory.kind == "team"  # type: ignore[union-attr]


def test_an_adopted_fit_recomputes_the_members_memory_states(tutor):
    report = memory_models.fit_member(tutor.db, "cy", NOW)  # against the defaults: adopted too
    assert report.adopted
    before_due = {s.card_id: s.due for s in review_store.states_of(tutor.db, "cy")}
    scheduler = Srs(fuzzing=False).scheduler(report.parameters, 0.9)
    history = review_store.rated_reviews(tutor.db, user_id="cy")
    for state in review_store.states_of(tutor.db, "cy")[:50]:
        steps = [(r.rating, r.learning_day) for r in history if r.card_id == state.card_id]
        *_, (_, _, expected) = replay(scheduler, steps)
        assert (state.stability, state.difficulty) == (expected.stability, expected.difficulty)
    assert {s.card_id: s.due for s in review_store.states_of(tutor.db, "cy")} == before_due  # due dates kept
    # the next review is scheduled with the member's own parameters
    assert tutor._schedule_plan("cy", tutor._deck_info("josh"), "x").parameters == report.parameters


def test_a_fit_that_saw_the_held_out_reviews_is_not_replaced_by_one_that_did_not(tmp_path):
    """The guard against a worse fit, on one member's whole history: the parameters in use were fitted
    on everything (the held-out reviews included), so the new fit, which learns without them, loses."""
    tutor = make_tutor(tmp_path / "t.db")
    rows = josh()
    import_history(tutor, "josh", rows, tz="UTC")
    everything = fit([HistoryReview(card=r.card_id, deck=None, rating=r.rating, reviewed_at=r.reviewed_at,
                                    day=days.learning_day(r.reviewed_at, "UTC")) for r in rows])
    with transaction(tutor.db):
        model_store.record_fit(tutor.db, model_store.FitRow(
            scope="member", owner="josh", fitted_at=NOW - timedelta(days=30), reviews=len(rows),
            trained_on=len(rows), scored=0, outcome="adopted", parameters=everything,
            current_parameters=DEFAULT_PARAMETERS))
    report = memory_models.fit_member(tutor.db, "josh", NOW)
    assert report.outcome == "worse" and not report.adopted
    assert report.fitted.log_loss > report.current.log_loss  # type: ignore[union-attr]
    assert memory_models.in_use(tutor.db, "josh", None).parameters == everything
    assert model_store.latest_fits(tutor.db, "member")["josh"].outcome == "worse"


def test_the_background_job_fits_each_owner_on_its_own_and_records_a_failure(tutor):
    # dee's 4,000 reviews are all first reviews on one day: nothing to fit, the fit fails
    start = datetime(2024, 5, 1, 9, tzinfo=UTC)
    import_history(tutor, "dee", [HistoryRow(line=n, card_id=f"x{n}", rating=3,
                                             reviewed_at=start + timedelta(seconds=n), duration_ms=None)
                                  for n in range(4000)], tz="UTC")
    due = memory_models.due_fits(tutor.db, NOW)
    assert due == [("member", "ana", 4187), ("member", "ben", 4131), ("member", "cy", 4262),
                   ("member", "dee", 4000), ("team", "josh", 12_580)]
    reports = memory_models.run_due_fits(tutor.db, NOW)
    assert [(r.scope, r.owner) for r in reports] == [(s, o) for s, o, _ in due]
    failed = model_store.latest_fits(tutor.db, "member")["dee"]
    assert failed.outcome == "failed" and "two different learning days" in (failed.detail or "")
    assert {o: r.outcome for o, r in model_store.latest_fits(tutor.db, "member").items()} == \
        {"ana": "adopted", "ben": "worse", "cy": "adopted", "dee": "failed"}  # the others went on
    assert memory_models.due_fits(tutor.db, NOW + timedelta(days=6)) == []  # fitted: not due again...
    assert len(memory_models.due_fits(tutor.db, NOW + timedelta(days=7))) == 5  # ...until a week later


def test_import_and_optimize_from_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TUTOR_DB", raising=False)
    db = str(tmp_path / "t.db")
    code = main(["--db", db, "reviews", "import", str(REVIEWS[0]), "--user", "josh", "--tz", "UTC", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and (result["rows"], result["history_only"], result["cards"]) == (12_580, 12_580, 1205)
    assert main(["--db", db, "reviews", "import", str(REVIEWS[0]), "--user", "josh", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["history_only"], again["already_there"]) == (0, 12_580)  # importing twice adds nothing
    assert main(["--db", db, "optimize", "--user", "josh", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"reviews", "adopted", "parameters", "log_loss", "rmse_bins"} <= set(report)
    assert report["reviews"] == 12_580 and len(report["parameters"]) == 21
    assert set(report["log_loss"]) == set(report["rmse_bins"]) == {"current", "fitted"}
    assert report["adopted"] == (report["log_loss"]["fitted"] < report["log_loss"]["current"])
    assert main(["--db", db, "stats", "--user", "josh"]) == 0
    assert "memory model: personalised" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text("card_id,review_rating,review_time,review_duration\n1,3,2024-03-29T20:32:32+00:00,10\n"
                   "2,5,2024-03-29T20:33:00+00:00,10\n", encoding="utf-8")
    assert main(["--db", db, "reviews", "import", str(bad), "--user", "josh"]) == 1
    assert "line 3: review_rating '5' is not 1, 2, 3 or 4" in capsys.readouterr().err
    assert main(["--db", db, "optimize", "--user", "nobody"]) == 1
    assert "not a learner" in capsys.readouterr().err


def test_the_bot_fits_in_the_background_without_holding_up_requests(tutor):
    from slack_sdk import WebClient

    from bot.config import Settings
    from bot.schedule import FIT_JOB_ID, JOB_ID, build_scheduler, fit_memory_models
    from bot.slack.context import AppContext
    from bot.slack.services import SlackServices
    from storage.db import ThreadLocalDatabases

    ctx = AppContext(settings=Settings(), db=tutor.db, tutor=tutor, clock=lambda: NOW)
    svc = SlackServices.create(ctx)
    scheduler = build_scheduler(svc, WebClient(token="xoxb-unused"))
    assert {job.id for job in scheduler.get_jobs()} == {JOB_ID, FIT_JOB_ID}  # the tick and the fits, apart
    databases = ThreadLocalDatabases(tutor.db)
    done: list = []
    def fit_in_background() -> None:
        done.append((fit_memory_models(svc, databases), databases.get()))

    worker = threading.Thread(target=fit_in_background)
    worker.start()
    planned = tutor.due_cards("ana", NOW)  # a request meanwhile: served while the fits still run
    still_fitting = worker.is_alive()
    worker.join()
    reports, connection = done[0]
    assert still_fitting and planned
    assert connection is not tutor.db  # the fits had their own connection
    assert [(r.scope, r.owner) for r in reports] == [("member", "ana"), ("member", "ben"), ("member", "cy"),
                                                      ("team", "josh")]


def test_a_team_prior_is_used_for_a_member_only_where_it_beats_the_defaults_on_their_reviews(tutor):
    # a prior fitted on the pool, which here is one learner: better than the defaults for each member
    team = memory_models.fit_team(tutor.db, "josh", NOW)
    assert team.adopted
    checks = model_store.latest_prior_checks(tutor.db, "josh")
    assert {u: c.outcome for u, c in checks.items()} == {u: "used" for u in MEMBERS}
    for user in MEMBERS:
        check = checks[user]
        assert check.log_loss_prior < check.log_loss_current  # type: ignore[operator]
        assert check.scored >= memory_models.MIN_PRIOR_SCORED
        assert memory_models.in_use(tutor.db, user, "josh").kind == "team"
    assert memory_models.due_prior_checks(tutor.db) == []  # judged: not due again until more reviews

    # a worse prior (initial stabilities ten times too long) is adopted for the deck; the background
    # job judges it on each member's reviews and keeps the defaults for them
    worse = tuple(w * 10 if n < 4 else w for n, w in enumerate(DEFAULT_PARAMETERS))
    with transaction(tutor.db):
        model_store.record_fit(tutor.db, model_store.FitRow(
            scope="team", owner="josh", fitted_at=NOW, reviews=12_580, trained_on=10_064, scored=1000,
            outcome="adopted", parameters=worse, current_parameters=team.parameters))
    assert [(u, d) for u, d, _ in memory_models.due_prior_checks(tutor.db)] == [(u, "josh") for u in MEMBERS]
    done = memory_models.run_due_prior_checks(tutor.db, NOW)
    assert [(c.user_id, c.outcome) for c in done] == [(u, "rejected") for u in MEMBERS]
    for check in done:
        assert check.log_loss_prior > check.log_loss_current  # type: ignore[operator]
    used = memory_models.in_use(tutor.db, "ana", "josh")
    assert (used.kind, used.parameters) == ("default", DEFAULT_PARAMETERS)
    assert tutor._schedule_plan("ana", tutor._deck_info("josh"), "x").parameters == DEFAULT_PARAMETERS
    # the memory states are the defaults' again
    scheduler = Srs(fuzzing=False).scheduler(DEFAULT_PARAMETERS, 0.9)
    history = review_store.rated_reviews(tutor.db, user_id="ana")
    for state in review_store.states_of(tutor.db, "ana")[:20]:
        *_, (_, _, expected) = replay(scheduler, [(r.rating, r.learning_day) for r in history
                                                  if r.card_id == state.card_id])
        assert (state.stability, state.difficulty) == (expected.stability, expected.difficulty)
    memory = tutor.stats("ana", NOW).memory
    assert memory is not None and (memory.kind, memory.prior_rejected) == ("default", "josh")
    assert "the team prior of josh did worse" in memory.describe()
    assert memory.short().startswith("Defaults (team prior worse")


def test_a_member_with_too_few_reviews_to_judge_by_starts_from_the_team_prior(tutor):
    history = [r for r in memory_models.member_history(tutor.db, "ana") if r.deck == "josh"][:40]
    worse = tuple(w * 10 if n < 4 else w for n, w in enumerate(DEFAULT_PARAMETERS))
    verdict, current, _ = memory_models.judge_prior(history, worse)
    assert verdict == "too_few" and (current is None or current.count < memory_models.MIN_PRIOR_SCORED)
