"""Tables of the learning modes (versions 20-39): the deck setting for open prompts, which cards are
scheduled, the answers written to open prompts with their concept grades, and "test this pattern"
runs with their answers.

Times are ISO-8601 strings in UTC (`storage.timefmt.iso`), as in schema_core.
"""

from __future__ import annotations

from storage.db import Migration

MIGRATIONS: list[Migration] = [
    Migration(20, "deck setting for open prompts; which cards are scheduled", """
ALTER TABLE decks ADD COLUMN prompts TEXT NOT NULL DEFAULT 'graded'
    CHECK (prompts IN ('graded', 'reflection'));  -- content.model.PromptMode

-- Whether the card takes part in spaced repetition (content.model.Deck.is_scheduled, set at import):
-- flashcards and multiple choice always; an open prompt when it has concepts and its deck grades.
ALTER TABLE cards ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 1 CHECK (scheduled IN (0, 1));
UPDATE cards SET scheduled = 0
    WHERE kind = 'prompt' AND coalesce(json_array_length(data, '$.concepts'), 0) = 0;
"""),
    Migration(21, "answers to open prompts and their concept grades", """
CREATE TABLE prompt_answers (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    deck TEXT NOT NULL,
    card_id TEXT NOT NULL,
    seq INTEGER NOT NULL,                       -- review_log's seq of the review this answer made
    answer TEXT NOT NULL,                       -- what the learner wrote
    concepts_covered INTEGER NOT NULL,
    concepts_total INTEGER NOT NULL,
    grader TEXT NOT NULL,                       -- semantic | lexical
    grade TEXT NOT NULL,                        -- bot.concepts.grade.ConceptGrade.to_dict() as JSON
    source TEXT NOT NULL,                       -- cli | dm
    answered_at TEXT NOT NULL,
    UNIQUE (user_id, deck, card_id, seq)        -- an undone review's answer is replaced by the next
);
"""),
    Migration(22, "test this pattern: runs and answers", """
CREATE TABLE pattern_tests (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    deck TEXT NOT NULL,
    questions TEXT NOT NULL,                    -- JSON [[card_id, level], ...] in the order asked
    source TEXT NOT NULL,                       -- cli | dm
    started_at TEXT NOT NULL,
    finished_at TEXT,                           -- NULL: not every question answered yet
    score INTEGER,                              -- right answers, set when finished
    total INTEGER NOT NULL CHECK (total > 0)
);
CREATE INDEX pattern_tests_user ON pattern_tests (user_id, finished_at);
CREATE INDEX pattern_tests_deck ON pattern_tests (deck, finished_at);

CREATE TABLE pattern_test_answers (
    test_id INTEGER NOT NULL REFERENCES pattern_tests (id),
    position INTEGER NOT NULL,                  -- 0-based in the test's questions
    card_id TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('easy', 'medium', 'hard')),
    choice INTEGER NOT NULL,                    -- option chosen, 0-based
    correct INTEGER NOT NULL CHECK (correct IN (0, 1)),
    seq INTEGER NOT NULL,                       -- review_log's seq of the review this answer made
    answered_at TEXT NOT NULL,
    PRIMARY KEY (test_id, position)
);
CREATE INDEX pattern_test_answers_card ON pattern_test_answers (card_id);
"""),
]
