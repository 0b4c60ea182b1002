"""The one MLflow module: every tracking call goes through here, with explicit run ids.

MLflow's fluent API keeps its active run per thread, and Prefect runs tasks in a
thread pool, so this module never uses ``mlflow.start_run``; it passes run ids.
"""

from __future__ import annotations

import json
import math
import os
import sys
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable

import psutil
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import (
    MLFLOW_GIT_BRANCH,
    MLFLOW_GIT_COMMIT,
    MLFLOW_GIT_REPO_URL,
    MLFLOW_PARENT_RUN_ID,
    MLFLOW_RUN_NAME,
    MLFLOW_SOURCE_NAME,
    MLFLOW_SOURCE_TYPE,
    MLFLOW_USER,
)

from flows import mlflow_sqlite
from flows.safety import disk_full_guard
from tasks.redaction import SECRET_KEY, SECRET_VALUE
from tasks.settings import PROJECT_ROOT, TrackingSettings, project_path

_BATCH = 100
# MLflow 3 opens an experiment without this tag on the GenAI page; ours are classic ML runs (params, metrics, children).
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def tracking_uri(settings: TrackingSettings) -> str:
    """The configured URI, or a SQLite store inside ``mlruns/`` with an absolute path."""
    if settings.uri:
        return settings.uri
    store = project_path(settings.store_dir)
    store.mkdir(parents=True, exist_ok=True)
    if settings.sqlite_wal:
        mlflow_sqlite.tune(store / "mlflow.db")
    return f"sqlite:///{store / 'mlflow.db'}"


def client_for(settings: TrackingSettings) -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri(settings))


def experiment_id(client: MlflowClient, name: str, settings: TrackingSettings) -> str:
    """Get or create the experiment; local stores keep artifacts under ``mlruns/artifacts``."""
    found = client.get_experiment_by_name(name)
    if found:
        if not all(found.tags.get(k) == v for k, v in EXPERIMENT_KIND.items()):  # made before the tag existed
            for key, value in EXPERIMENT_KIND.items():
                client.set_experiment_tag(found.experiment_id, key, value)
        return found.experiment_id
    location = None if settings.uri else (project_path(settings.store_dir) / "artifacts" / name).as_uri()
    return client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_KIND)


def _git(*args: str) -> str | None:
    import subprocess

    try:
        out = subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def source_tags(entry_point: str | None = None, source_type: str = "LOCAL") -> dict[str, str]:
    """MLflow's standard source tags: user, entry point, source type and the checkout's git commit, branch and remote.

    Args:
        entry_point: what started the run, e.g. ``flows/main.py`` or ``flows/deployments.py:research_job``;
            default: the running script relative to the project root.
        source_type: ``LOCAL`` from a shell, ``JOB`` from a Prefect deployment.
    """
    import getpass

    if entry_point is None:
        script = Path(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else None
        entry_point = str(script.relative_to(PROJECT_ROOT)) if script and script.is_relative_to(PROJECT_ROOT) else (script.name if script else "python")
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    tags = {MLFLOW_USER: user, MLFLOW_SOURCE_NAME: entry_point, MLFLOW_SOURCE_TYPE: source_type}
    commit = _git("rev-parse", "HEAD")
    if commit:
        tags[MLFLOW_GIT_COMMIT] = commit
        if _git("status", "--porcelain", "--untracked-files=no"):
            tags["sovereign.git_dirty"] = "true"  # the commit alone does not reproduce this run
    for key, args in ((MLFLOW_GIT_BRANCH, ("rev-parse", "--abbrev-ref", "HEAD")), (MLFLOW_GIT_REPO_URL, ("remote", "get-url", "origin"))):
        if value := _git(*args):
            tags[key] = value
    return tags


@contextmanager
def system_metrics(settings: TrackingSettings, run_id: str, every_s: float = 5.0):
    """MLflow's own monitor (``system/*`` metrics: CPU, memory, disk, network; GPU where NVML sees one) while the block runs."""
    try:
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

        monitor = SystemMetricsMonitor(run_id, sampling_interval=every_s, samples_before_logging=1, tracking_uri=tracking_uri(settings))
        monitor.start()
    except Exception:  # noqa: BLE001 - no monitor is no reason to stop a run
        monitor = None
    try:
        yield
    finally:
        if monitor is not None:
            try:  # MLflow's loop drops the samples of its last, unfinished interval: publish them, then flush
                monitor._shutdown_event.set()
                monitor._process.join(timeout=10)
                monitor.collect_metrics()
                monitor.publish_metrics(monitor.aggregate_metrics())
                monitor.finish()
            except Exception:  # noqa: BLE001 - a lost sample is no reason to fail a finished run
                pass


def redact(value: Any) -> str:
    return SECRET_VALUE.sub("[REDACTED]", str(value))


def safe_params(params: dict[str, Any]) -> dict[str, str]:
    """Drop secret-looking keys, redact secret-looking values, and cap lengths to MLflow's limit."""
    return {k[:250]: redact(v)[:6000] for k, v in params.items() if not SECRET_KEY.search(k)}


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts into dotted keys; lists stay JSON strings."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): json.dumps(data) if isinstance(data, (list, tuple)) else data}


def start_run(client: MlflowClient, exp_id: str, name: str, tags: dict[str, str] | None = None, parent_id: str | None = None) -> str:
    all_tags = {MLFLOW_RUN_NAME: name, **(tags or {})}
    if parent_id:
        all_tags[MLFLOW_PARENT_RUN_ID] = parent_id
    return client.create_run(exp_id, run_name=name, tags=all_tags).info.run_id


def log_params(client: MlflowClient, run_id: str, params: dict[str, Any]) -> None:
    items = [Param(k, v) for k, v in safe_params(params).items()]
    for i in range(0, len(items), _BATCH):
        client.log_batch(run_id, params=items[i : i + _BATCH])


def log_metrics(client: MlflowClient, run_id: str, metrics: dict[str, float], step: int = 0) -> None:
    now = int(time.time() * 1000)
    items = [
        Metric(k, float(v), now, step)
        for k, v in metrics.items()
        if v is not None and isinstance(v, (int, float)) and math.isfinite(float(v))
    ]
    for i in range(0, len(items), _BATCH):
        client.log_batch(run_id, metrics=items[i : i + _BATCH])


def log_record(client: MlflowClient, run_id: str, params: dict[str, Any], metrics: dict[str, float], tags: dict[str, Any] | None = None) -> None:
    """Params, metrics and tags of a small run in one ``log_batch`` (one store transaction, not three)."""
    now = int(time.time() * 1000)
    items = {
        "params": [Param(k, v) for k, v in safe_params(params).items()],
        "metrics": [Metric(k, float(v), now, 0) for k, v in metrics.items()
                    if v is not None and isinstance(v, (int, float)) and math.isfinite(float(v))],
        "tags": [RunTag(k, redact(v)[:5000]) for k, v in (tags or {}).items()],
    }
    if sum(len(v) for v in items.values()) <= 1000 and len(items["params"]) <= _BATCH:  # MLflow's log_batch limits
        client.log_batch(run_id, **items)
        return
    log_params(client, run_id, params)
    log_metrics(client, run_id, metrics)
    if tags:
        set_tags(client, run_id, tags)


def safe_tags(tags: dict[str, Any]) -> dict[str, str]:
    """Tag values as ``set_tags`` writes them: redacted, capped to MLflow's limit."""
    return {k: redact(v)[:5000] for k, v in tags.items()}


def set_tags(client: MlflowClient, run_id: str, tags: dict[str, Any]) -> None:
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in safe_tags(tags).items()])


def log_artifacts(client: MlflowClient, run_id: str, paths: Iterable[Path], artifact_path: str | None = None) -> None:
    """Copy files or folders into the run's artifact store; a full disk raises DiskFullError naming the fix."""
    with disk_full_guard("MLflow artifacts", client.get_run(run_id).info.artifact_uri.removeprefix("file://")):
        for path in paths:
            path = Path(path)
            if path.is_dir():
                client.log_artifacts(run_id, str(path), artifact_path=f"{artifact_path}/{path.name}" if artifact_path else path.name)
            elif path.exists():
                client.log_artifact(run_id, str(path), artifact_path=artifact_path)


def end_run(client: MlflowClient, run_id: str, failed: bool = False) -> None:
    client.set_terminated(run_id, RunStatus.to_string(RunStatus.FAILED if failed else RunStatus.FINISHED))


def find_child(client: MlflowClient, exp_id: str, parent_id: str, name: str) -> str | None:
    """An existing child run of ``parent_id`` with this name, so a resumed run reuses it."""
    runs = client.search_runs(
        [exp_id],
        filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}' and tags.`{MLFLOW_RUN_NAME}` = '{name}'",
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


HEARTBEAT_S = 60.0  # a running parent run refreshes its heartbeat tag this often
STALE_AFTER_S = 10 * 60.0  # an owner on another host whose heartbeat is older than this is taken for dead


def _process_started(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def owner_tags() -> dict[str, str]:
    """Which process owns a run, so that a later process can tell a dead owner from a live one.

    Host and pid, plus the pid's start time (a reused pid belongs to a newer process) and a heartbeat (the
    only sign of life a process on another host, e.g. a restarted container, can read).
    """
    pid = os.getpid()
    return {"sovereign.host": socket.gethostname(), "sovereign.pid": str(pid),
            "sovereign.pid_started": f"{_process_started(pid) or 0:.3f}", "sovereign.heartbeat": f"{time.time():.0f}"}


def _number(tags: dict[str, str], key: str) -> float | None:
    try:
        return float(tags[key])
    except (KeyError, ValueError):
        return None


def owner_alive(tags: dict[str, str], now: float | None = None) -> bool:
    """Whether the process named by a run's owner tags may still be running it (when unsure: yes)."""
    if tags.get("sovereign.host") != socket.gethostname():
        beat = _number(tags, "sovereign.heartbeat")
        if beat is None:
            return True  # no readable heartbeat from another host: cannot tell, never steal its run
        return (now or time.time()) - beat < STALE_AFTER_S
    pid = _number(tags, "sovereign.pid")
    started = _process_started(int(pid)) if pid and pid > 0 else None
    if started is None:
        return False
    recorded = _number(tags, "sovereign.pid_started")
    return not recorded or abs(started - recorded) < 1.0  # same pid, other start time: the pid was reused


@contextmanager
def heartbeat(client: MlflowClient, run_id: str, every_s: float = HEARTBEAT_S):
    """Refresh the run's ``sovereign.heartbeat`` tag from a daemon thread while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            try:
                set_tags(client, run_id, {"sovereign.heartbeat": f"{time.time():.0f}"})
            except Exception:  # noqa: BLE001 - a missed beat (store busy for a moment) must not stop the run
                continue

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def find_orphaned_run(client: MlflowClient, exp_id: str, config_hash: str) -> str | None:
    """A parent run with this config hash left RUNNING by a process that no longer exists."""
    runs = client.search_runs(
        [exp_id],
        filter_string=f"tags.`sovereign.config_hash` = '{config_hash}' and attributes.status = 'RUNNING'",
        order_by=["attributes.start_time DESC"],
        max_results=5,
    )
    for run in runs:
        if MLFLOW_PARENT_RUN_ID not in run.data.tags and not owner_alive(run.data.tags):
            return run.info.run_id
    return None
