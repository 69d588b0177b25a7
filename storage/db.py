"""Open the SQLite database and bring its schema up to date.

Migrations are versioned SQL scripts applied at open, each in its own transaction and recorded in
`schema_migrations`. Each concern owns a range of versions in its own module, so two features can
add tables without editing one shared list:

    storage/schema_core.py    1-19    decks, cards, learners, FSRS state, review log
    storage/schema_learning.py 20-39  open prompts' setting and answers, "test this pattern" runs
    storage/schema_slack.py   100-199 deliveries, channel schedules, question-of-the-day posts
    storage/schema_images.py  200-299 images recorded for /finetune

A migration that has been released is never edited; add a new version instead.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

BUSY_TIMEOUT_MS = 10_000

# Every database open_db returned and not yet closed, so a stopping server can close them all
# (connections of worker threads included); weak, so nothing is kept alive by being listed.
_OPEN: weakref.WeakSet[sqlite_utils.Database] = weakref.WeakSet()
_OPEN_LOCK = threading.Lock()


class DatabaseOpenError(Exception):
    """The database file cannot be opened; the message names the file, the reason and the fix."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def all_migrations() -> list[Migration]:
    """Every known migration, in version order (imported lazily: each module is optional)."""
    found: list[Migration] = []
    for module_name in ("schema_core", "schema_learning", "schema_slack", "schema_images"):
        try:
            module = __import__(f"storage.{module_name}", fromlist=["MIGRATIONS"])
        except ModuleNotFoundError as exc:
            if exc.name != f"storage.{module_name}":
                raise
            continue
        found.extend(module.MIGRATIONS)
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a version: {sorted(versions)}")
    return sorted(found, key=lambda m: m.version)


def equal_to(columns: Mapping[str, object]) -> tuple[str, list[object]]:
    """The optional filters of a query: "a = ? AND b = ?" for the columns whose value is not None,
    with their parameters in order; ("", []) when every value is None."""
    given = [(column, value) for column, value in columns.items() if value is not None]
    return " AND ".join(f"{column} = ?" for column, _ in given), [value for _, value in given]


def open_db(path: str | Path, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open (creating the file if needed) the database at `path` with WAL, a busy timeout and foreign
    keys, and apply pending migrations. `":memory:"` gives a private in-memory database.

    The folder must exist: a typo in TUTOR_DB would otherwise make a new, empty database somewhere.
    DatabaseOpenError (one sentence) when the folder is missing or SQLite cannot open the file."""
    path = str(path)
    if path != ":memory:":
        _check_location(Path(path))
    try:
        # isolation_level=None: we open transactions ourselves (see `transaction`), so a multi-row
        # change is one BEGIN IMMEDIATE ... COMMIT and never half-applied.
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        db = sqlite_utils.Database(conn)
        if migrate:
            apply_migrations(db)
    except sqlite3.DatabaseError as exc:
        raise DatabaseOpenError(_open_problem(path, exc)) from exc
    with _OPEN_LOCK:
        _OPEN.add(db)
    return db


def _check_location(path: Path) -> None:
    if path.is_dir():
        raise DatabaseOpenError(f"the database {path} is a folder; name a file in it, such as "
                                f"{path / 'tutor.db'} (TUTOR_DB or --db)")
    folder = path.parent
    if not folder.exists():
        raise DatabaseOpenError(f"the folder {folder} of the database {path} does not exist; create it "
                                f"(mkdir -p {folder}) or fix TUTOR_DB / --db")
    if not folder.is_dir():
        raise DatabaseOpenError(f"{folder} is a file, so the database {path} cannot be made in it; "
                                "fix TUTOR_DB / --db")


def _open_problem(path: str, exc: sqlite3.DatabaseError) -> str:
    reason = str(exc)
    if "not a database" in reason:
        return (f"{path} is not a SQLite database; point TUTOR_DB or --db at the tutor's database or "
                "at a new file name")
    if "readonly" in reason:
        return (f"the database {path} is read-only ({reason}); let this user write the file and its "
                "folder, or point TUTOR_DB / --db elsewhere")
    if "locked" in reason:
        return (f"the database {path} stayed locked for {BUSY_TIMEOUT_MS // 1000} s ({reason}); another "
                "process holds it: stop it or wait, then try again")
    return (f"cannot open the database {path} ({reason}); check that this user may read and write the "
            "file and its folder (TUTOR_DB or --db)")


def close_open_databases() -> int:
    """Close every database open_db opened in this process (a server's last step); returns how many.
    A closed database raises sqlite3.ProgrammingError when used, so call this only at the end."""
    with _OPEN_LOCK:
        found = list(_OPEN)
        _OPEN.clear()
    for db in found:
        try:
            db.conn.close()
        except sqlite3.Error:
            pass
    return len(found)


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """One write transaction: BEGIN IMMEDIATE (takes the write lock up front, so two processes
    serialise instead of failing half-way), COMMIT on success, ROLLBACK on any error.
    Nested use joins the outer transaction."""
    conn = db.conn
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class ThreadLocalDatabases:
    """One connection to the same database file for each thread that asks.

    The web server answers on many threads and the scheduler and demo workers run on their own;
    sharing one connection would let one thread's statements land inside another thread's open
    transaction. Separate connections keep them apart through SQLite's own locking (WAL, busy
    timeout, BEGIN IMMEDIATE). An in-memory database cannot be opened twice: it is shared, behind
    a lock, which suits single-threaded tools, not a server."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        rows = db.conn.execute("PRAGMA database_list").fetchall()
        main = next((r for r in rows if r[1] == "main"), None)
        self.path: str | None = main[2] if main and main[2] else None
        self.shared = db
        self._lock = threading.RLock()
        self._local = threading.local()

    def get(self) -> sqlite_utils.Database:
        """This thread's database (the shared one for an in-memory database)."""
        if self.path is None:
            return self.shared
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_db(self.path, migrate=False)
        return db

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, for reads; held under the lock when it is the shared one."""
        if self.path is None:
            with self._lock:
                yield self.shared.conn
        else:
            yield self.get().conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside one write transaction (see `transaction`)."""
        if self.path is None:
            with self._lock, transaction(self.shared) as conn:
                yield conn
        else:
            with transaction(self.get()) as conn:
                yield conn


def apply_migrations(db: sqlite_utils.Database) -> list[int]:
    """Apply every migration not yet recorded; return the versions applied now."""
    conn = db.conn
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied_now: list[int] = []
    for migration in all_migrations():
        with transaction(db):
            done = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            ).fetchone()
            if done:
                continue
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
            applied_now.append(migration.version)
    return applied_now


def _statements(script: str) -> list[str]:
    """Split a script into statements (executescript would commit our transaction)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")
    return statements
