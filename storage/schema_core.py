"""Tables of the learning core (versions 1-99): decks, cards, learners, enrollments, the FSRS state
of each (learner, card) and the review log.

Times are ISO-8601 strings in UTC written by `storage.timefmt.iso` (always with microseconds and
`+00:00`, so they compare correctly as text). `learning_day` is a calendar date (YYYY-MM-DD) in the
learner's own zone, the day starting at 04:00 local. `delivery_time` is a local wall-clock HH:MM.
"""

from __future__ import annotations

from storage.db import Migration

MIGRATIONS: list[Migration] = [
    Migration(1, "decks, cards, learners, enrollments, card states, review log", """
CREATE TABLE decks (
    slug TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    desired_retention REAL NOT NULL DEFAULT 0.9
        CHECK (desired_retention > 0 AND desired_retention < 1),
    source TEXT,                                -- where it was imported from (a path, "slack")
    revision INTEGER NOT NULL DEFAULT 1,        -- bumped by every import that changes a card
    imported_at TEXT NOT NULL
);

CREATE TABLE cards (
    deck TEXT NOT NULL REFERENCES decks (slug),
    card_id TEXT NOT NULL,                      -- content.model's stable id
    kind TEXT NOT NULL CHECK (kind IN ('flashcard', 'mcq', 'prompt')),
    position INTEGER NOT NULL,                  -- order in the deck, 0-based
    data TEXT NOT NULL,                         -- the card's to_dict() as JSON
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    retired_at TEXT,                            -- no longer in the deck; history kept
    PRIMARY KEY (deck, card_id)
);

CREATE TABLE learners (
    user_id TEXT PRIMARY KEY,
    name TEXT,
    tz TEXT NOT NULL,                           -- IANA zone
    delivery_time TEXT NOT NULL DEFAULT '08:30',
    paused_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE enrollments (
    user_id TEXT NOT NULL REFERENCES learners (user_id),
    deck TEXT NOT NULL REFERENCES decks (slug),
    new_per_day INTEGER NOT NULL DEFAULT 5 CHECK (new_per_day >= 0),
    reviews_per_day INTEGER NOT NULL DEFAULT 30 CHECK (reviews_per_day >= 0),
    joined_at TEXT NOT NULL,
    left_at TEXT,
    PRIMARY KEY (user_id, deck)
);
CREATE INDEX enrollments_deck ON enrollments (deck);

-- No row: the card is new to this learner. fsrs has no New state: after the first review a card
-- is in Review (2) with these settings (no learning steps).
CREATE TABLE card_states (
    user_id TEXT NOT NULL REFERENCES learners (user_id),
    deck TEXT NOT NULL,
    card_id TEXT NOT NULL,
    state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),   -- fsrs.State
    step INTEGER,
    stability REAL,
    difficulty REAL,
    due TEXT NOT NULL,
    last_review TEXT,
    reps INTEGER NOT NULL DEFAULT 0,
    lapses INTEGER NOT NULL DEFAULT 0,          -- Again on a card in Review
    seq INTEGER NOT NULL DEFAULT 0,             -- the seq of the last review recorded
    suspended_at TEXT,                          -- leech (8 lapses) or by hand
    PRIMARY KEY (user_id, deck, card_id),
    FOREIGN KEY (deck, card_id) REFERENCES cards (deck, card_id)
);
CREATE INDEX card_states_due ON card_states (due) WHERE suspended_at IS NULL;

CREATE TABLE review_log (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES learners (user_id),
    deck TEXT NOT NULL,
    card_id TEXT NOT NULL,
    seq INTEGER NOT NULL,                       -- 1 for the first review of the card by the user
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
    choice INTEGER,                             -- option chosen (multiple choice), 0-based
    correct INTEGER,                            -- 1/0 for multiple choice, NULL when self-graded
    reviewed_at TEXT NOT NULL,
    learning_day TEXT NOT NULL,
    duration_ms INTEGER,
    source TEXT NOT NULL CHECK (source IN ('cli', 'dm', 'channel')),
    state_before INTEGER,                       -- fsrs.State before, NULL when the card was new
    before TEXT,                                -- card_states row before, JSON array from `state` on (undo)
    due TEXT NOT NULL,                          -- the next due this review gave
    leech INTEGER NOT NULL DEFAULT 0,           -- this review suspended the card
    UNIQUE (user_id, deck, card_id, seq),
    FOREIGN KEY (deck, card_id) REFERENCES cards (deck, card_id)
);
CREATE INDEX review_log_day ON review_log (learning_day, user_id);
CREATE INDEX review_log_user ON review_log (user_id);  -- rowid order within: the last recorded first
CREATE INDEX review_log_card ON review_log (deck, card_id);
"""),
]

MIGRATIONS += [
    Migration(2, "card_states.last_day: the learning day of the last review (FSRS counts whole days)", """
ALTER TABLE card_states ADD COLUMN last_day TEXT;   -- learning day of the last review (learner's zone then)
UPDATE card_states SET last_day = (
    SELECT r.learning_day FROM review_log r
    WHERE r.user_id = card_states.user_id AND r.deck = card_states.deck AND r.card_id = card_states.card_id
    ORDER BY r.seq DESC LIMIT 1);
CREATE INDEX card_states_user_due ON card_states (user_id, due) WHERE suspended_at IS NULL;
CREATE INDEX card_states_card ON card_states (deck, card_id);  -- who has reviewed a card (concept rules)
"""),
    # SQLite cannot change a CHECK constraint in place: the log is copied into a table without the
    # list of sources, which bot.tutor.SOURCES now owns (one place to add a source).
    Migration(3, "review_log: any source bot.tutor.SOURCES names (imported histories, other modes)", """
CREATE TABLE review_log_new (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES learners (user_id),
    deck TEXT NOT NULL,
    card_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
    choice INTEGER,
    correct INTEGER,
    reviewed_at TEXT NOT NULL,
    learning_day TEXT NOT NULL,
    duration_ms INTEGER,                        -- from showing the card to the answer (ms)
    source TEXT NOT NULL,                       -- bot.tutor.SOURCES
    state_before INTEGER,
    before TEXT,
    due TEXT NOT NULL,
    leech INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, deck, card_id, seq),
    FOREIGN KEY (deck, card_id) REFERENCES cards (deck, card_id)
);
INSERT INTO review_log_new SELECT id, user_id, deck, card_id, seq, rating, choice, correct, reviewed_at,
    learning_day, duration_ms, source, state_before, before, due, leech FROM review_log;
DROP TABLE review_log;
ALTER TABLE review_log_new RENAME TO review_log;
CREATE INDEX review_log_day ON review_log (learning_day, user_id);
CREATE INDEX review_log_user ON review_log (user_id);
CREATE INDEX review_log_card ON review_log (deck, card_id);
"""),
    Migration(4, "memory models: FSRS parameters fitted per member and per deck (team prior)", """
CREATE TABLE memory_models (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL CHECK (scope IN ('member', 'team')),
    owner TEXT NOT NULL,                        -- the member's user_id, or the deck's slug (team)
    fitted_at TEXT NOT NULL,
    reviews INTEGER NOT NULL,                   -- reviews in the history the fit saw and was tested on
    trained_on INTEGER NOT NULL DEFAULT 0,      -- of which the fit learned from (the rest held out)
    scored INTEGER NOT NULL DEFAULT 0,          -- held-out later-day reviews both models were scored on
    outcome TEXT NOT NULL CHECK (outcome IN ('adopted', 'worse', 'too_few', 'failed')),
    parameters TEXT,                            -- JSON, the 21 FSRS-6 weights fitted (NULL: no fit)
    current_parameters TEXT NOT NULL,           -- JSON, the weights in use it was compared with
    log_loss_current REAL,
    log_loss_fitted REAL,
    rmse_bins_current REAL,
    rmse_bins_fitted REAL,
    auc_current REAL,
    auc_fitted REAL,
    seconds REAL,                               -- wall time of fit + scoring
    detail TEXT                                 -- why not adopted, or the error
);
CREATE INDEX memory_models_owner ON memory_models (scope, owner, id);
"""),
    Migration(5, "imported review histories of cards no deck has (kept for the memory model)", """
CREATE TABLE imported_reviews (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES learners (user_id),
    source_card TEXT NOT NULL,                  -- the card's id in the other tool
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
    reviewed_at TEXT NOT NULL,
    learning_day TEXT NOT NULL,                 -- in the zone the import was told
    duration_ms INTEGER,
    file TEXT,
    imported_at TEXT NOT NULL,
    UNIQUE (user_id, source_card, reviewed_at)
);
"""),
    Migration(6, "decks.easy_days: lighter weekdays (share of a normal day's reviews, Monday first)", """
ALTER TABLE decks ADD COLUMN easy_days TEXT;    -- JSON list of 7 shares; NULL: every day normal
"""),
    Migration(7, "prior checks: whether a deck's team prior beat the defaults on a member's own reviews", """
CREATE TABLE prior_checks (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    deck TEXT NOT NULL,
    team_fit_id INTEGER NOT NULL REFERENCES memory_models (id),  -- the team prior judged
    checked_at TEXT NOT NULL,
    reviews INTEGER NOT NULL,                   -- the member's reviews of the deck then
    scored INTEGER NOT NULL DEFAULT 0,          -- of which later-day reviews both models were scored on
    outcome TEXT NOT NULL CHECK (outcome IN ('used', 'rejected', 'too_few')),
    log_loss_current REAL,                      -- the defaults (the parameters otherwise in use)
    log_loss_prior REAL,
    rmse_bins_current REAL,
    rmse_bins_prior REAL,
    auc_current REAL,
    auc_prior REAL,
    detail TEXT
);
CREATE INDEX prior_checks_member ON prior_checks (user_id, deck, id);
"""),
]
