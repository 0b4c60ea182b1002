"""Rows 3, 8, 9, 10: concurrent first runs, runs left RUNNING, orphaned servers, named store failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows import store
from flows.store import StoreError
from tasks.settings import TrackingSettings

ROOT = Path(__file__).resolve().parents[2]


def _client(path: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{path / 'mlflow.db'}")


def _store_with_history(tmp_path: Path) -> Path:
    path = tmp_path / "mlruns"
    store.prepare_tracking_store(TrackingSettings(store_dir=str(path)))
    client = _client(path)
    exp = client.create_experiment("x", artifact_location=(path / "artifacts" / "x").as_uri())
    run = client.create_run(exp).info.run_id
    (tmp_path / "a.txt").write_text("a")
    client.log_artifact(run, str(tmp_path / "a.txt"))
    client.set_terminated(run)
    return path


# --- row 3: concurrent first runs on a fresh store ---------------------------------------------------------------

_FIRST_RUN = """
import sys
from flows import store
from tasks.settings import TrackingSettings
from mlflow.tracking import MlflowClient
path = sys.argv[1]
store.prepare_tracking_store(TrackingSettings(store_dir=path))
store.prepare_prefect_store()
client = MlflowClient(tracking_uri=f"sqlite:///{path}/mlflow.db")
client.set_terminated(client.create_run("0").info.run_id)
print("ok")
"""


@pytest.mark.slow
def test_concurrent_first_runs_both_create_the_schemas(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PREFECT_HOME=str(tmp_path / "prefect"))
    env.pop("PREFECT_API_URL", None)
    procs = [subprocess.Popen([sys.executable, "-c", _FIRST_RUN, str(tmp_path / "mlruns")], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=400) for p in procs]
    for proc, (out, err) in zip(procs, outs):
        assert proc.returncode == 0 and out.strip() == "ok", err[-2000:]
    assert len(_client(tmp_path / "mlruns").search_runs(["0"])) == 3
    assert (tmp_path / "prefect" / "prefect.db").stat().st_size > 0


# --- row 9: named causes ----------------------------------------------------------------------------------------

def test_corrupt_database_is_named(tmp_path):
    path = _store_with_history(tmp_path)
    db = path / "mlflow.db"
    with open(db, "r+b") as handle:
        handle.truncate(db.stat().st_size // 2)
    with pytest.raises(StoreError, match=r"mlflow.db is corrupt .*restore it from a backup"):
        store.prepare_tracking_store(TrackingSettings(store_dir=str(path)))


def test_read_only_store_is_named(tmp_path):
    mount = tmp_path / "ro"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {done.stderr.strip()}")
    try:
        with pytest.raises(StoreError, match="read-only"):
            store.prepare_tracking_store(TrackingSettings(store_dir=str(mount / "mlruns")))
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_is_named_before_the_run(tmp_path, monkeypatch):
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(store.shutil, "disk_usage", lambda p: usage(1 << 30, (1 << 30) - 4096, 4096))
    with pytest.raises(StoreError, match="disk full: 4096 bytes free"):
        store.prepare_tracking_store(TrackingSettings(store_dir=str(tmp_path / "mlruns")))


def test_sqlite_failures_inside_a_run_get_one_line():
    import sqlite3

    from mlflow.exceptions import MlflowException

    try:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError as inner:
            raise MlflowException("(sqlite3.OperationalError) database or disk is full [SQL: INSERT ...]") from inner
    except MlflowException as exc:
        assert store.named_cause(exc, "mlruns").startswith("disk full inside a database of mlruns")
    assert store.named_cause(ValueError("something else")) is None


def test_cli_prints_one_line_for_a_corrupt_store(tmp_path, capsys):
    from flows.main import main

    path = _store_with_history(tmp_path)
    db = path / "mlflow.db"
    with open(db, "r+b") as handle:
        handle.truncate(db.stat().st_size // 2)
    assert main(["retrieval=snapshot", f"tracking.store_dir={path}", f"run.output_dir={tmp_path / 'o'}",
                 f"run.cache_dir={tmp_path / 'c'}"]) == 2
    said = capsys.readouterr()
    text = " ".join((said.out + said.err).split())
    assert "is corrupt" in text and "Traceback" not in text


# --- row 10: an emptied mlflow.db is backed up and refused, never recreated ------------------------------------

def test_emptied_database_is_backed_up_and_refused(tmp_path):
    path = _store_with_history(tmp_path)
    (path / "mlflow.db").write_bytes(b"")
    for _ in range(2):  # and it stays refused
        with pytest.raises(StoreError, match="not recreated silently"):
            store.prepare_tracking_store(TrackingSettings(store_dir=str(path)))
    assert (path / "mlflow.db").stat().st_size == 0
    assert list(path.glob("mlflow.db.emptied-*"))


def test_deleted_database_with_history_is_refused(tmp_path):
    path = _store_with_history(tmp_path)
    (path / "mlflow.db").unlink()
    with pytest.raises(StoreError, match="is missing"):
        store.prepare_tracking_store(TrackingSettings(store_dir=str(path)))


def test_fresh_store_is_created(tmp_path):
    path = tmp_path / "mlruns"
    store.prepare_tracking_store(TrackingSettings(store_dir=str(path)))
    assert (path / "mlflow.db").stat().st_size > 0 and (path / store.HISTORY_MARKER).exists()


# --- row 8: runs left RUNNING, orphaned servers ------------------------------------------------------------------

def _dead_owner_tags() -> dict[str, str]:
    import socket

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return {"sovereign.host": socket.gethostname(), "sovereign.pid": str(proc.pid), "sovereign.pid_started": "1.0"}


def test_killed_run_with_another_config_and_stray_children_are_failed(tmp_path):
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    from flows import tracking

    path = tmp_path / "mlruns"
    store.prepare_tracking_store(TrackingSettings(store_dir=str(path)))
    client = _client(path)
    exp = client.create_experiment("e")
    killed = client.create_run(exp, tags={**_dead_owner_tags(), "sovereign.config_hash": "other"}).info.run_id
    killed_child = client.create_run(exp, tags={MLFLOW_PARENT_RUN_ID: killed}).info.run_id
    finished = client.create_run(exp, tags=tracking.owner_tags()).info.run_id
    stray_child = client.create_run(exp, tags={MLFLOW_PARENT_RUN_ID: finished}).info.run_id
    client.set_terminated(finished, "FAILED")
    mine = client.create_run(exp, tags=tracking.owner_tags()).info.run_id
    my_child = client.create_run(exp, tags={MLFLOW_PARENT_RUN_ID: mine}).info.run_id
    live = client.create_run(exp, tags=tracking.owner_tags()).info.run_id  # this very process: alive

    assert sorted(store.fail_orphans(client, keep=mine)) == sorted([killed, killed_child, stray_child])
    status = {r: client.get_run(r).info.status for r in (killed, killed_child, stray_child, mine, my_child, live)}
    assert status == {killed: "FAILED", killed_child: "FAILED", stray_child: "FAILED", mine: "RUNNING",
                      my_child: "RUNNING", live: "RUNNING"}
    assert store.fail_children(client, exp, mine) == [my_child]


def test_research_fails_orphans_and_children():
    source = (ROOT / "flows" / "research.py").read_text()
    assert "store.fail_orphans(" in source and "store.fail_children(" in source


def test_sigkilled_run_leaves_no_server_behind(tmp_path):
    script = ("import subprocess, sys, time\n"
              "from flows.reaper import start_reaper\n"
              "start_reaper()\n"
              "child = subprocess.Popen(['sleep', '300'])\n"  # stands in for Prefect's uvicorn server
              "print(child.pid, flush=True)\n"
              "time.sleep(300)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    time.sleep(3)  # the reaper has seen the child
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.5)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "the server process outlived its SIGKILLed parent"


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_partials_of_a_killed_writer_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale_file = tmp_path / "cache" / "index" / f".papers.jsonl.{dead.pid}.partial"
    stale_dir = tmp_path / "out" / f".abc.{dead.pid}.partial"
    live = tmp_path / "cache" / f".x.{os.getpid()}.partial"
    for path in (stale_file.parent, stale_dir, live.parent):
        path.mkdir(parents=True, exist_ok=True)
    stale_file.write_text("half")
    live.write_text("being written")
    young = tmp_path / "out" / f".young.{dead.pid}.partial"
    young.write_text("maybe another container's")
    for path in (stale_file, stale_dir, live):
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    removed = store.remove_stale_partials(tmp_path / "cache", tmp_path / "out")
    assert sorted(removed) == sorted([stale_file, stale_dir]) and live.exists() and young.exists()
    assert "store.remove_stale_partials(" in (ROOT / "flows" / "research.py").read_text()
