"""Kill the main job mid-sweep with SIGKILL, run it again with the same config: nothing finished is redone.

Both runs report to a real ``prefect server`` so the second run's task states can be read:
a sweep point that had finished before the kill must come back ``Cached``. MLflow must hold
no duplicate child runs and nothing left RUNNING.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import cpu_overrides
from tests.deploy.servers import ROOT, base_env, prefect_server, spawn

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# sweep.steps=60 stretches the 35 flagship points over ~15 s on 2 cores, so the kill lands mid-sweep.
SWEEP = ["+sweep=tokens", "sweep.steps=60"]


def _sweep_stage_missing() -> str | None:
    try:
        from flows import sweep  # noqa: F401
    except ImportError as exc:
        return f"the sweep stage does not exist yet (from flows import sweep: {exc})"
    if "run_sweep" not in (ROOT / "flows" / "research.py").read_text():
        return "flows/research.py does not run the sweep stage yet"
    return None


def _resume_wiring_missing() -> str | None:
    source = (ROOT / "flows" / "research.py").read_text()
    if "find_orphaned_run" in source:
        return None
    return "flows/research.py does not resume an orphaned parent run yet (tracking.find_orphaned_run in _open_run)"


def _runs(store: Path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    return [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]


def _finished_children(store: Path) -> int:
    """Finished child runs, read straight from SQLite (an MlflowClient would race the writer's migrations)."""
    db = store / "mlflow.db"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute(
                "SELECT count(*) FROM runs r JOIN tags t ON r.run_uuid = t.run_uuid "
                "WHERE t.key = 'mlflow.parentRunId' AND r.status = 'FINISHED'"
            ).fetchone()[0]
    except sqlite3.Error:  # tables not created yet, or locked for a moment
        return 0


def _children(runs, parent_id=None):
    return [r for r in runs if r.data.tags.get("mlflow.parentRunId") and (parent_id is None or r.data.tags["mlflow.parentRunId"] == parent_id)]


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    reason = _sweep_stage_missing()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("resume")
    store = tmp / "mlruns"
    cmd = [sys.executable, "flows/main.py", *SWEEP, *cpu_overrides(tmp)]
    with prefect_server(tmp) as (api_url, _server):
        env = base_env(tmp, api_url)
        first = spawn(cmd, env, tmp / "first.log")
        deadline = time.monotonic() + 240
        try:
            while time.monotonic() < deadline and first.poll() is None:
                if _finished_children(store) >= 3:
                    break
                time.sleep(0.2)
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
        if first.returncode != -signal.SIGKILL:
            pytest.fail(f"the first run was not killed mid-sweep (exit {first.returncode}); raise sweep.steps:\n{(tmp / 'first.log').read_text()[-3000:]}")
        at_kill = _runs(store)
        done_at_kill = {c.data.tags["mlflow.runName"] for c in _children(at_kill) if c.info.status == "FINISHED"}

        started = time.perf_counter()
        second = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
        rerun_s = time.perf_counter() - started
        assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]

        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId
        from prefect.client.schemas.sorting import FlowRunSort
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
            flow_runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["research"])), sort=FlowRunSort.START_TIME_DESC)
            rerun = next(r for r in flow_runs if r.state and r.state.is_completed())
            task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[rerun.id])), limit=200)
        point_states = {t.name: t.state.name for t in task_runs if t.task_key.startswith("evaluate_point") or t.name in done_at_kill}
    return {"at_kill": at_kill, "done_at_kill": done_at_kill, "final": _runs(store), "point_states": point_states, "rerun_s": rerun_s,
            "report": _report_of(_runs(store)), "tmp": tmp}


def _report_of(runs) -> str:
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags and r.info.status == "FINISHED")
    return Path(parent.data.tags["sovereign.report"]).with_name("report.md").read_text()


def _normalise(report: str, tmp: Path) -> str:
    """Drop what legitimately differs between two runs: run ids and the folders they wrote to."""
    report = report.replace(str(tmp), "<tmp>")
    report = re.sub(r"\b[0-9a-f]{32}\b", "<run>", report)
    return re.sub(r"(`|\brun )[0-9a-f]{8}\b", r"\1<run>", report)


def test_finished_points_are_not_recomputed(killed_and_resumed):
    done, states = killed_and_resumed["done_at_kill"], killed_and_resumed["point_states"]
    assert done, "no sweep point had finished at the kill"
    missing = done - set(states)
    assert not missing, f"no task run in the re-run for {missing}"
    recomputed = sorted(label for label in done if states[label] != "Cached")
    assert "Completed" in states.values(), "the re-run computed nothing new: the kill did not land mid-sweep"
    print(f"\nresume: {len(done)} points done at kill, recomputed {len(recomputed)}, re-run {killed_and_resumed['rerun_s']:.1f}s")
    assert recomputed == [], f"recomputed points: {recomputed}"


def test_no_duplicate_or_dangling_child_runs(killed_and_resumed):
    reason = _resume_wiring_missing()
    if reason:
        pytest.skip(reason)
    final = killed_and_resumed["final"]
    assert not [r.info.run_id for r in final if r.info.status == "RUNNING"], "runs left RUNNING after the re-run"
    parents = [r for r in final if "mlflow.parentRunId" not in r.data.tags]
    finished = [p for p in parents if p.info.status == "FINISHED"]
    assert len(finished) == 1
    survivor = finished[0]
    children = _children(final, survivor.info.run_id)
    labels = [c.data.tags["mlflow.runName"] for c in children]
    assert len(labels) == len(set(labels)), "duplicate child runs"
    swept = [c for c in children if c.data.tags.get("sovereign.origin", "sweep") == "sweep"]  # the tribunal may add points
    assert len(swept) == survivor.data.metrics["sweep_points"]
    if len(parents) == 1:  # the re-run adopted the killed parent: every point has one child run in all
        assert len(_children(final)) == len(labels)
    else:  # a new parent: the killed one is FAILED and linked
        killed = [p for p in parents if p is not survivor]
        assert all(p.info.status == "FAILED" for p in killed)
        assert survivor.data.tags.get("sovereign.resumed_from") in {p.info.run_id for p in killed}


def test_resumed_report_matches_an_uninterrupted_run(killed_and_resumed, tmp_path):
    """Same config, fresh caches and store, never killed: the report is the same apart from run ids."""
    cmd = [sys.executable, "flows/main.py", *SWEEP, *cpu_overrides(tmp_path)]
    done = subprocess.run(cmd, cwd=ROOT, env=base_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    uninterrupted = _normalise(_report_of(_runs(tmp_path / "mlruns")), tmp_path)
    resumed = _normalise(killed_and_resumed["report"], killed_and_resumed["tmp"])
    assert resumed == uninterrupted
