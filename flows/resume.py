"""Resume an interrupted research run into its own MLflow parent run, so a re-run makes no duplicate children.

A parent run is tagged with a digest of its resolved config and with who is running
it (host, pid and process start time, Prefect flow run id). When the same config is
run again and an earlier parent with that digest is still RUNNING but its process is
gone (killed, crashed, machine rebooted), the new attempt adopts that parent run: the
sweep then finds each point's child run by name (``tracking.find_child``) and reuses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from typing import Any

from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from flows import tracking

log = logging.getLogger("sovereign.resume")

TAG_CONFIG = "sovereign.config_sha"
TAG_HOST = "sovereign.host"
TAG_PROCESS = "sovereign.process"  # "<pid>:<process start time>", so a recycled pid is not mistaken for the owner
TAG_FLOW_RUN = "sovereign.prefect_flow_run_id"
TAG_ATTEMPTS = "sovereign.attempts"
TAG_RESUMED_FROM = "sovereign.resumed_from"
_PREFECT_DONE = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def config_digest(resolved: dict[str, Any]) -> str:
    """SHA-256 (24 hex) of the resolved config: equal configs resume each other."""
    return hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _process_stamp(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            start = handle.read().rsplit(")", 1)[1].split()[19]  # field 22: starttime in clock ticks
    except (OSError, IndexError):
        start = "?"
    return f"{pid}:{start}"


def _current_flow_run_id() -> str:
    try:
        from prefect.runtime import flow_run

        return str(flow_run.id or "")
    except Exception:  # noqa: BLE001 - outside Prefect there is no flow run
        return ""


def owner_tags(digest: str) -> dict[str, str]:
    """Tags that say which config and which process own a parent run."""
    return {TAG_CONFIG: digest, TAG_HOST: socket.gethostname(), TAG_PROCESS: _process_stamp(os.getpid()), TAG_FLOW_RUN: _current_flow_run_id()}


def _prefect_state(flow_run_id: str) -> str | None:
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run_id).state
        return state.type.value if state else None
    except Exception:  # noqa: BLE001 - no API, or the run is unknown there
        return None


def owner_is_gone(tags: dict[str, str]) -> bool:
    """Whether the process that owned a RUNNING parent run no longer runs.

    Same host: its pid is gone or now belongs to another process. Other host: its
    Prefect flow run reached a final state. Otherwise assume it is alive.
    """
    process = tags.get(TAG_PROCESS, "")
    if tags.get(TAG_HOST) == socket.gethostname() and process:
        pid = int(process.split(":")[0])
        return _process_stamp(pid) != process
    flow_run_id = tags.get(TAG_FLOW_RUN)
    return bool(flow_run_id) and _prefect_state(flow_run_id) in _PREFECT_DONE


def find_interrupted_parent(client: MlflowClient, exp_id: str, digest: str) -> str | None:
    """The newest RUNNING parent run with this config digest whose owner is gone, if any."""
    runs = client.search_runs(
        [exp_id],
        filter_string=f"tags.`{TAG_CONFIG}` = '{digest}' and attributes.status = 'RUNNING'",
        order_by=["attributes.start_time DESC"],
        max_results=20,
    )
    for run in runs:
        if MLFLOW_PARENT_RUN_ID not in run.data.tags and owner_is_gone(run.data.tags):
            return run.info.run_id
    return None


def resume_or_start(client: MlflowClient, exp_id: str, name: str, resolved: dict[str, Any], tags: dict[str, str]) -> tuple[str, bool]:
    """Adopt the interrupted parent run of this exact config, or start a new one.

    Args:
        client, exp_id: where the parent run lives.
        name: the run name for a new parent run.
        resolved: the resolved config (its digest decides what counts as "the same run").
        tags: the tags a new parent run gets (owner tags are added).
    Returns:
        (run_id, resumed): resumed is True when an interrupted run was adopted.
    """
    digest = config_digest(resolved)
    previous = find_interrupted_parent(client, exp_id, digest)
    if previous is None:
        return tracking.start_run(client, exp_id, name, tags={**tags, **owner_tags(digest), TAG_ATTEMPTS: "1"}), False
    attempts = int(client.get_run(previous).data.tags.get(TAG_ATTEMPTS, "1")) + 1
    tracking.set_tags(client, previous, {**owner_tags(digest), TAG_ATTEMPTS: str(attempts)})
    log.warning("resuming interrupted MLflow run %s (attempt %d): finished points are reused, not recomputed", previous, attempts)
    return previous, True


def fail_incomplete_children(client: MlflowClient, exp_id: str, parent_id: str, new_parent_id: str | None = None) -> list[str]:
    """Mark a dead parent's RUNNING children (and the parent) FAILED, linking the new attempt.

    The alternative to ``resume_or_start`` when a new parent run is wanted anyway.
    Returns the run ids marked FAILED.
    """
    children = client.search_runs(
        [exp_id], filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}' and attributes.status = 'RUNNING'"
    )
    marked = [c.info.run_id for c in children] + [parent_id]
    for run_id in marked:
        if new_parent_id:
            tracking.set_tags(client, run_id, {"sovereign.superseded_by": new_parent_id})
        tracking.end_run(client, run_id, failed=True)
    if new_parent_id:
        tracking.set_tags(client, new_parent_id, {TAG_RESUMED_FROM: parent_id})
    return marked
