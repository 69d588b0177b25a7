"""Tables of the Slack app (versions 100-199): daily DM deliveries, DM review sessions, channel
schedules, question-of-the-day posts and the answers to them; decks assigned to channels (110), the
members each assignment met and the one DM each newly enrolled member gets.

Every "do this once" rule is a UNIQUE key, so a restart, a second process or a tick that runs twice
cannot send anything twice: the row is claimed first (INSERT OR IGNORE in a transaction), then the
message is sent. All times are ISO-8601 strings in UTC, except `local_date` / `learning_day`
(a calendar date in the member's or the schedule's own zone) and the wall-clock `HH:MM` times of a
schedule (local to the schedule's `tz`).
"""

from __future__ import annotations

from storage.db import Migration

MIGRATIONS: list[Migration] = [
    Migration(100, "slack deliveries, sessions, channel schedules and posts", """
CREATE TABLE slack_deliveries (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    learning_day TEXT NOT NULL,                 -- the member's learning day (local date)
    status TEXT NOT NULL CHECK (status IN ('claimed', 'sent', 'nothing_due', 'failed')),
    due_cards INTEGER,
    session_id INTEGER,
    channel_id TEXT,
    ts TEXT,
    error TEXT,
    claimed_at TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (user_id, learning_day)
);
CREATE INDEX slack_deliveries_day ON slack_deliveries (learning_day);

CREATE TABLE slack_dm_channels (
    user_id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL
);

CREATE TABLE slack_review_sessions (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    origin TEXT NOT NULL,                       -- daily | command | home
    started_at TEXT NOT NULL,
    finished_at TEXT
);

CREATE TABLE slack_session_answers (
    session_id INTEGER NOT NULL REFERENCES slack_review_sessions (id),
    deck TEXT NOT NULL,
    card_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    rating INTEGER NOT NULL,                    -- 1..4, FSRS grade
    correct INTEGER,                            -- 1/0 for multiple choice, NULL for a flashcard
    answered_at TEXT NOT NULL,
    PRIMARY KEY (session_id, deck, card_id)
);

CREATE TABLE slack_channel_schedules (
    id INTEGER PRIMARY KEY,
    channel_id TEXT NOT NULL,
    channel_name TEXT,
    deck TEXT NOT NULL,
    at_time TEXT NOT NULL,                      -- HH:MM local to tz
    days TEXT NOT NULL,                         -- comma-separated mon..sun
    tz TEXT NOT NULL,
    close_time TEXT,                            -- HH:MM local, NULL: closes at the next post
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    removed_at TEXT
);

CREATE TABLE slack_channel_posts (
    id INTEGER PRIMARY KEY,
    schedule_id INTEGER NOT NULL REFERENCES slack_channel_schedules (id),
    local_date TEXT NOT NULL,                   -- the schedule's local date
    channel_id TEXT NOT NULL,
    deck TEXT NOT NULL,
    card_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('claimed', 'open', 'failed', 'closing', 'closed')),
    ts TEXT,
    error TEXT,
    claimed_at TEXT NOT NULL,
    closes_at TEXT,                             -- UTC; NULL: closes at the next post
    closed_at TEXT,
    UNIQUE (schedule_id, local_date)
);
CREATE INDEX slack_channel_posts_channel ON slack_channel_posts (channel_id, card_id);

CREATE TABLE slack_channel_answers (
    post_id INTEGER NOT NULL REFERENCES slack_channel_posts (id),
    user_id TEXT NOT NULL,
    choice INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (post_id, user_id)
);
"""),
    # A send whose outcome is unknown (the process died, the connection dropped) stays 'claimed' (or
    # 'closing') and is reconciled from Slack's history: `attempted_at` is when the latest attempt
    # began (UTC, storage.timefmt's fixed width, so it compares as text), `attempts` how many began.
    Migration(101, "attempts of a daily DM, for reconciling unfinished ones", """
ALTER TABLE slack_deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE slack_deliveries ADD COLUMN attempted_at TEXT;
UPDATE slack_deliveries SET attempted_at = claimed_at;
CREATE INDEX slack_deliveries_unfinished ON slack_deliveries (attempted_at) WHERE status = 'claimed';
CREATE INDEX slack_deliveries_session ON slack_deliveries (session_id);
"""),
    Migration(102, "attempts of a question-of-the-day post or reveal, for reconciling unfinished ones", """
ALTER TABLE slack_channel_posts ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE slack_channel_posts ADD COLUMN attempted_at TEXT;
UPDATE slack_channel_posts SET attempted_at = claimed_at;
CREATE INDEX slack_channel_posts_unfinished ON slack_channel_posts (attempted_at)
    WHERE status IN ('claimed', 'closing');
"""),
    Migration(110, "decks assigned to channels, their members and enrollment notices", """
CREATE TABLE slack_assignments (
    id INTEGER PRIMARY KEY,
    channel_id TEXT NOT NULL,
    channel_name TEXT,
    deck TEXT NOT NULL,
    at_time TEXT,                               -- HH:MM daily DM time for members it makes learners
    tz TEXT,                                    -- the zone of at_time; NULL: each member's own
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    removed_at TEXT
);
CREATE UNIQUE INDEX slack_assignments_active ON slack_assignments (channel_id, deck)
    WHERE removed_at IS NULL;

CREATE TABLE slack_assignment_members (
    assignment_id INTEGER NOT NULL REFERENCES slack_assignments (id),
    user_id TEXT NOT NULL,
    -- enrolled: joined the deck through the assignment; already: was in it; left: had left the deck
    -- once, so not enrolled again
    outcome TEXT NOT NULL CHECK (outcome IN ('enrolled', 'already', 'left')),
    seen_at TEXT NOT NULL,
    PRIMARY KEY (assignment_id, user_id)
);

-- pending -> sending (claimed; its DM carries the mark tutor_enrollment_notice {notice_id}) -> sent
-- or failed; a 'sending' one whose latest attempt is old is settled from the DM's history.
CREATE TABLE slack_enrollment_notices (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    deck TEXT NOT NULL,
    assignment_id INTEGER NOT NULL REFERENCES slack_assignments (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    attempted_at TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    UNIQUE (user_id, deck)                      -- told once per deck, however many channels assign it
);
CREATE INDEX slack_enrollment_notices_status ON slack_enrollment_notices (status, attempted_at);
"""),
    Migration(130, "signed Slack requests already handled (replays change nothing)", """
CREATE TABLE slack_seen_requests (
    signature TEXT PRIMARY KEY,                 -- X-Slack-Signature: one per (timestamp, body)
    request_ts INTEGER NOT NULL                 -- X-Slack-Request-Timestamp, Unix seconds
) WITHOUT ROWID;
CREATE INDEX slack_seen_requests_ts ON slack_seen_requests (request_ts);
"""),
]

MIGRATIONS += [
    Migration(140, "when each card of a DM review was shown (the answer time of a click is from it)", """
CREATE TABLE slack_card_views (
    session_id INTEGER NOT NULL REFERENCES slack_review_sessions (id),
    deck TEXT NOT NULL,
    card_id TEXT NOT NULL,
    seq INTEGER NOT NULL,                       -- the review the card was shown for
    shown_at TEXT NOT NULL,                     -- the first time the message showed it
    PRIMARY KEY (session_id, deck, card_id, seq)
);
"""),
]
