"""The local MLflow store's SQLite settings: write-ahead log and ``synchronous=NORMAL``.

MLflow opens a transaction per call (a child run costs about eight: create, params, metrics, tags, end), and in
SQLite's default rollback-journal mode each commit fsyncs the journal and the database and deletes the journal.
On the shared 2-core machine a commit then cost up to 10 ms while other processes wrote to disk: logging the 49
sweep children took 5 s at load 3.5, 1.3 s in WAL mode (benchmarks/main_job_speed.md, 2026-11-30). WAL with
``synchronous=NORMAL`` is what SQLite documents for this and what Prefect's own SQLite store uses
(``prefect/server/database/configurations.py``): the database stays consistent after a crash or power loss; a
power loss (not a killed process) may lose the last commits before it. WAL does not work on a network filesystem:
``tracking.sqlite_wal=false`` keeps SQLite's defaults there.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger("sovereign.tracking")
_DATABASES: set[str] = set()  # resolved paths of the SQLite files to tune
_OPEN: list[sqlite3.Connection] = []  # connections opened to them, for close_connections()
_LOCK = threading.Lock()
_INSTALLED = False


def tune(db: Path) -> None:
    """Open every later SQLAlchemy connection to ``db`` in WAL mode with ``synchronous=NORMAL``."""
    global _INSTALLED
    with _LOCK:
        _DATABASES.add(str(Path(db).resolve()))
        if _INSTALLED:
            return
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "connect", _on_connect)  # every engine, MLflow's included; filtered by file below
        _INSTALLED = True


def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 - SQLAlchemy's connect event
    if not isinstance(dbapi_connection, sqlite3.Connection) or not _DATABASES:
        return
    try:
        row = dbapi_connection.execute("PRAGMA database_list").fetchone()
        if not row or str(Path(row[2]).resolve()) not in _DATABASES:
            return
        dbapi_connection.execute("PRAGMA journal_mode=WAL")  # persistent in the file; a no-op once set
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")  # per connection
        with _LOCK:
            _OPEN[:] = [c for c in _OPEN if _is_open(c)] + [dbapi_connection]
    except sqlite3.Error as exc:  # e.g. locked by another process right now: this connection keeps the defaults
        log.debug("SQLite tuning skipped for this connection: %s", exc)


def _is_open(conn: sqlite3.Connection) -> bool:
    try:
        conn.total_changes  # noqa: B018 - raises on a closed connection
    except sqlite3.ProgrammingError:
        return False
    return True


def close_connections() -> None:
    """Close the tuned databases' connections at the end of a process that skips Python's finalisation: the last
    close checkpoints the write-ahead log into the database file, so ``mlflow.db`` holds every run on its own."""
    with _LOCK:
        for conn in _OPEN:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        _OPEN.clear()
