"""The local store's health and first creation: one line naming the file and the fix instead of a raw traceback.

* First creation of the MLflow and Prefect schemas happens under a file lock, so concurrent first runs on a fresh
  store both finish (SQLite schema creation is not safe to race).
* A read-only store, a nearly full disk, a corrupt database or an emptied/missing ``mlflow.db`` whose store has a
  history stop the run before it starts; an emptied database is backed up, never silently recreated.
* Runs left RUNNING by a dead process, and children left RUNNING under a finished parent, are marked FAILED.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tasks.settings import SettingsError, TrackingSettings, project_path

HISTORY_MARKER = ".mlflow-history"  # written once mlflow.db holds its schema: from then on the store has a history
MIN_FREE_BYTES = 32 << 20  # below this, SQLite fails mid-write ("database or disk is full")


class StoreError(SettingsError):
    """The tracking or Prefect store cannot be used as it is; the message names the file and the fix."""


@contextmanager
def init_lock(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``folder/.init.lock`` (released when the process dies, even by SIGKILL)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".init.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_writable(folder: Path, what: str) -> None:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise StoreError(f"{what} {probe} is read-only; make it writable (chmod -R u+w {probe}) or point "
                         "tracking.store_dir (and PREFECT_HOME) at a writable folder")


def _check_space(folder: Path, what: str) -> None:
    probe = folder if folder.exists() else folder.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    if free < MIN_FREE_BYTES:
        raise StoreError(f"disk full: {free} bytes free on the filesystem of {what} {folder}; free space there, or point "
                         "tracking.store_dir at a larger disk, then re-run (completed stages are cached)")


def check_sqlite(db: Path, what: str) -> None:
    """Refuse a database file that is unwritable or corrupt (``PRAGMA quick_check``), naming the file and the fix."""
    if not db.exists() or db.stat().st_size == 0:
        return
    if not os.access(db, os.R_OK | os.W_OK):
        raise StoreError(f"{what} {db} is read-only; make it writable (chmod u+w {db})")
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            result = conn.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        result = (str(exc),)
    if not result or result[0] != "ok":
        raise StoreError(f"{what} {db} is corrupt ({result[0] if result else 'unreadable'}); restore it from a backup, "
                         f"or move it aside to start an empty one (mv {db} {db}.corrupt); no run was started")


def _tables(db: Path) -> set[str]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError:
        return set()


def _has_history(store: Path) -> bool:
    artifacts = store / "artifacts"
    return (store / HISTORY_MARKER).exists() or (artifacts.is_dir() and any(artifacts.iterdir()))


def _refuse_lost_history(store: Path, db: Path) -> None:
    """``mlflow.db`` is missing, emptied or without tables while the store has runs: back it up and refuse."""
    backup = None
    if db.exists():
        backup = db.with_name(f"{db.name}.emptied-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(db, backup)
    state = "is missing" if backup is None else f"was emptied (kept as {backup.name})"
    raise StoreError(
        f"{db} {state}, but this store has a run history ({store / 'artifacts'}); it is not recreated silently. "
        f"Restore mlflow.db from a backup, or, to start an empty history on purpose, delete {store / HISTORY_MARKER} "
        f"and {db}"
    )


def prepare_tracking_store(settings: TrackingSettings) -> None:
    """Check the local MLflow store and create its schema once, under a lock. A remote ``tracking.uri`` is left alone."""
    if settings.uri:
        return
    store = project_path(settings.store_dir)
    _check_writable(store, "the tracking store")
    store.mkdir(parents=True, exist_ok=True)
    _check_space(store, "the tracking store")
    db = store / "mlflow.db"
    with init_lock(store):
        check_sqlite(db, "the MLflow database")
        empty = not db.exists() or db.stat().st_size == 0 or "experiments" not in _tables(db)
        if empty and _has_history(store):
            _refuse_lost_history(store, db)
        if empty or not (store / HISTORY_MARKER).exists():
            from mlflow.tracking import MlflowClient

            from flows.tracking import tracking_uri

            MlflowClient(tracking_uri=tracking_uri(settings)).search_experiments(max_results=1)  # creates the schema
            (store / HISTORY_MARKER).write_text("mlflow.db holds this store's runs; see flows/store.py\n")


def prepare_prefect_store() -> None:
    """Check the temporary Prefect server's SQLite database and migrate it once, under a lock, before the flow starts."""
    home = Path(os.environ.get("PREFECT_HOME", project_path("mlruns/.prefect"))).expanduser()
    url = os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL") or os.environ.get("PREFECT_API_URL")
    if url:  # a configured server or database: not ours to create
        return
    _check_writable(home, "the Prefect home")
    home.mkdir(parents=True, exist_ok=True)
    _check_space(home, "the Prefect home")
    db = home / "prefect.db"
    import prefect

    marker = home / f".schema-{prefect.__version__}"
    with init_lock(home):
        check_sqlite(db, "the Prefect database")
        if marker.exists() and db.exists() and db.stat().st_size > 0:
            return
        import asyncio

        from prefect.server.database import provide_database_interface

        asyncio.run(provide_database_interface().create_db())  # the migrations the temporary server would run
        marker.write_text("schema migrated by flows/store.py\n")


def prepare(settings, prefect_store: bool = True) -> None:
    """Both stores, before any run exists: flows/main.py calls this once, after the config is validated. A run
    without a Prefect server (flows/engine.py) has no Prefect database: ``prefect_store=False`` skips it."""
    prepare_tracking_store(settings.tracking)
    if prefect_store:
        prepare_prefect_store()


def _fail(client, run_id: str, reason: str) -> None:
    from flows import tracking

    tracking.set_tags(client, run_id, {"sovereign.failed_reason": reason})
    tracking.end_run(client, run_id, failed=True)


def fail_children(client, exp_id: str, parent_id: str, reason: str = "its parent run ended") -> list[str]:
    """Mark FAILED the children of ``parent_id`` still RUNNING (a stage died between starting and ending them)."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    runs = client.search_runs([exp_id], filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}' and "
                              "attributes.status = 'RUNNING'", max_results=1000)
    for run in runs:
        _fail(client, run.info.run_id, reason)
    return [r.info.run_id for r in runs]


def fail_orphans(client, keep: str) -> list[str]:
    """Mark FAILED every run left RUNNING by a process that no longer exists, whatever its config or experiment.

    A parent run counts as orphaned when its owner tags name a dead process (``tracking.owner_alive``); a child
    run when its parent is no longer RUNNING or is orphaned itself. ``keep`` (the run this process just opened or
    resumed) and its children are left alone. Returns the ids marked FAILED.
    """
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    from flows.tracking import owner_alive

    failed: list[str] = []
    for exp in client.search_experiments():
        running = client.search_runs([exp.experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000)
        parents = {r.info.run_id: r for r in running if MLFLOW_PARENT_RUN_ID not in r.data.tags}
        dead = {rid for rid, r in parents.items() if rid != keep and not owner_alive(r.data.tags)}
        for rid in sorted(dead):
            _fail(client, rid, "its process died before the run ended (found by a later run)")
            failed.append(rid)
        for run in running:
            parent = run.data.tags.get(MLFLOW_PARENT_RUN_ID)
            if parent is None or parent == keep:
                continue
            if parent in dead or (parent not in parents and client.get_run(parent).info.status != "RUNNING"):
                _fail(client, run.info.run_id, "its parent run ended while it was RUNNING")
                failed.append(run.info.run_id)
    return failed


_SQLITE_CAUSES = (
    ("database or disk is full", "disk full inside a database of {store}; free space on that filesystem, then re-run "
                                 "(completed stages are cached)"),
    ("readonly database", "a database of {store} is read-only; make the store writable (chmod -R u+w {store})"),
    ("disk image is malformed", "a database of {store} is corrupt; restore mlflow.db / .prefect/prefect.db from a backup "
                                "or move the damaged file aside"),
    ("unable to open database file", "a database of {store} cannot be opened; check that the folder exists and is writable"),
)


def named_cause(exc: BaseException, store: str | Path = "mlruns/") -> str | None:
    """One line naming a known store failure anywhere in ``exc``'s chain (SQLite errors raised through MLflow/Prefect)."""
    seen = 0
    while exc is not None and seen < 20:
        text = str(exc).lower()
        for needle, message in _SQLITE_CAUSES:
            if needle in text:
                return message.format(store=store)
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _age_s(entry: os.DirEntry) -> float:
    try:
        return time.time() - entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return 0.0


_PARTIAL = re.compile(r"^\..+\.(\d+)\.partial$")  # flows.safety.atomic_write / atomic_dir: .<name>.<pid>.partial


def remove_stale_partials(*roots: Path, depth: int = 3, min_age_s: float = 600.0) -> list[Path]:
    """Remove half-written ``.<name>.<pid>.partial`` files and folders whose writing process no longer exists.

    A SIGKILL skips the clean-up of ``flows.safety``; the next run removes what was left. A partial of a live pid
    (another run writing now) is left alone, and so is one younger than ``min_age_s`` (its pid may belong to another
    container sharing the folder). Looks ``depth`` levels below each root.
    """
    import psutil

    removed: list[Path] = []

    def walk(folder: Path, level: int) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            match = _PARTIAL.match(entry.name)
            if match and not psutil.pid_exists(int(match.group(1))) and _age_s(entry) >= min_age_s:
                path = Path(entry.path)
                shutil.rmtree(path, ignore_errors=True) if entry.is_dir(follow_symlinks=False) else path.unlink(missing_ok=True)
                removed.append(path)
            elif level < depth and entry.is_dir(follow_symlinks=False):
                walk(Path(entry.path), level + 1)

    for root in roots:
        walk(Path(root), 1)
    return removed
