"""Tables for /finetune (versions 200-299): images seen in channels, history scans, demo runs, the
images classified in a demo's thread, the answers to the deck question shown there, and each
finished demo's trained head (201-219 belong to the demo's worker). All SQL that reads or writes
them is in storage/images.py.

Times are ISO 8601 strings in UTC. Slack timestamps (`ts`) are kept as Slack's own strings
("1712345678.000200"): they are ids, and turning them into floats loses the digits that make them
unique.
"""

from __future__ import annotations

from storage.db import Migration

MIGRATIONS: list[Migration] = [
    Migration(
        200,
        "finetune images, history scans, demo runs, classifications, answers",
        """
        CREATE TABLE finetune_images (
            channel TEXT NOT NULL,
            file_id TEXT NOT NULL,
            ts TEXT NOT NULL,               -- the message that carried the file
            thread_ts TEXT,                 -- set when the message was a reply in a thread
            user_id TEXT,
            name TEXT NOT NULL,
            mimetype TEXT,
            size INTEGER,                   -- bytes, as Slack reported it
            url TEXT,                       -- url_private_download (needs the bot token)
            label TEXT,                     -- NULL: no label could be read from text or name
            source TEXT NOT NULL CHECK (source IN ('event', 'history')),
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (channel, file_id)
        );
        CREATE INDEX finetune_images_by_label ON finetune_images (channel, label);
        CREATE TABLE finetune_history_scans (
            channel TEXT PRIMARY KEY,
            scanned_at TEXT NOT NULL,
            messages INTEGER NOT NULL,      -- messages read
            images INTEGER NOT NULL,        -- image files recorded by the scan (new ones)
            truncated INTEGER NOT NULL      -- 1 when the scan stopped at its limit, not at the start
        );
        CREATE TABLE finetune_runs (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,
            thread_ts TEXT NOT NULL,        -- the progress message; its thread holds the results
            user_id TEXT,
            labels TEXT,                    -- JSON list: the labels asked for, NULL for all
            status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
            head_path TEXT,                 -- trained head for classifying replies (status done)
            report TEXT,                    -- JSON of FinetuneReport.to_dict()
            error TEXT,                     -- plain words, status failed
            owner TEXT,                     -- the bot process running it: "host:pid:start"
            question_deck TEXT,             -- the deck question shown in the thread (slug, card id)
            question_card TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT,
            UNIQUE (channel, thread_ts)
        );
        CREATE TABLE finetune_classifications (
            channel TEXT NOT NULL,
            file_id TEXT NOT NULL,
            run_id INTEGER NOT NULL REFERENCES finetune_runs (id) ON DELETE CASCADE,
            ts TEXT NOT NULL,
            result TEXT,                    -- JSON: [[label, probability], ...] or {"error": ...}
            created_at TEXT NOT NULL,
            PRIMARY KEY (channel, file_id)
        );
        CREATE TABLE finetune_answers (
            run_id INTEGER NOT NULL REFERENCES finetune_runs (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            choice INTEGER NOT NULL,        -- 0-based option index
            correct INTEGER NOT NULL,
            ts TEXT NOT NULL,               -- the reply that answered
            created_at TEXT NOT NULL,
            PRIMARY KEY (run_id, user_id)   -- a member's first answer stands
        );
        """,
    ),
    Migration(
        201,
        "finetune heads: the trained head of each finished demo, kept by the bot",
        """
        -- The worker sends the head back with the demo's result; the bot keeps it here and sends it
        -- with each classify job, so replies are labelled after a restart and by a worker on
        -- another host (nothing is shared on disk between the two). finetune_runs.head_path is
        -- left from before: a run without a row here falls back to that file.
        CREATE TABLE finetune_heads (
            run_id INTEGER PRIMARY KEY REFERENCES finetune_runs (id) ON DELETE CASCADE,
            head BLOB NOT NULL,             -- torch.save() bytes of the head's tensors and classes
            created_at TEXT NOT NULL
        );
        """,
    ),
]
