import sqlite3
import threading

import pytest

from storage.db import _statements, all_migrations, apply_migrations, open_db, transaction


def test_open_sets_wal_foreign_keys_and_busy_timeout(tmp_path):
    db = open_db(tmp_path / "t.db")
    conn = db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_migrations_are_recorded_once_and_reopen_applies_nothing(tmp_path):
    path = tmp_path / "t.db"
    db = open_db(path)
    versions = [row[0] for row in db.conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m.version for m in all_migrations()]
    db.conn.close()
    again = open_db(path, migrate=False)
    assert apply_migrations(again) == []


def test_transaction_rolls_back_every_row_on_error(tmp_path):
    db = open_db(tmp_path / "t.db")
    db.conn.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    with pytest.raises(sqlite3.IntegrityError):
        with transaction(db) as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            conn.execute("INSERT INTO t VALUES (1)")
    assert db.conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0


def test_two_connections_serialise_writes(tmp_path):
    path = tmp_path / "t.db"
    open_db(path).conn.execute("CREATE TABLE counter (n INTEGER)")
    open_db(path).conn.execute("INSERT INTO counter VALUES (0)")

    def bump():
        db = open_db(path)
        for _ in range(50):
            with transaction(db) as conn:
                (n,) = conn.execute("SELECT n FROM counter").fetchone()
                conn.execute("UPDATE counter SET n = ?", (n + 1,))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert open_db(path).conn.execute("SELECT n FROM counter").fetchone()[0] == 200


def test_statement_splitting_keeps_triggers_whole():
    script = """
    CREATE TABLE a (x INTEGER);
    CREATE TRIGGER a_t AFTER INSERT ON a BEGIN UPDATE a SET x = x + 1; END;
    """
    assert len(_statements(script)) == 2
    with pytest.raises(ValueError, match="incomplete"):
        _statements("CREATE TABLE b (x")

