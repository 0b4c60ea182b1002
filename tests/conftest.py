"""Shared fixtures: the real Hydra config shrunk for CPU, and a session-scoped Prefect harness.

Nothing here imports prefect or mlflow at module level, so GPU tests run on a
bare torch box with ``pytest tests/gpu``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Tests write their stores and outputs under the temp folder; config paths are confined to the store or to
# folders named in $SOVEREIGN_ALLOW_DIRS (flows/safety.py), so name it explicitly, as an operator would.
os.environ.setdefault("SOVEREIGN_ALLOW_DIRS", tempfile.gettempdir())
sys.path.insert(0, str(ROOT))
SNAPSHOT = ROOT / "tasks" / "retrieval" / "data" / "arxiv-snapshot.jsonl"


def cpu_overrides(tmp: Path) -> list[str]:
    """Overrides that keep every stage real but write into ``tmp`` and skip the network."""
    return [
        "retrieval=snapshot",
        f"tracking.store_dir={tmp / 'mlruns'}",
        f"run.output_dir={tmp / 'outputs'}",
        f"run.cache_dir={tmp / 'cache'}",
        "run.smoke=true",
    ]


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """One temporary Prefect server for the whole session (it takes seconds to start)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(tmp_path_factory.mktemp("prefect-storage"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture(scope="session")
def embedder():
    from tasks.index.embedder import load_embedder

    return load_embedder("minilm")


def pytest_unconfigure(config):
    """Prefect events still queued for a test server that has stopped (the session harness, a test's own server)
    cannot be delivered: Prefect's exit hook would retry them for as long as it takes, and the test process would
    not exit. Discard them at the end of the session; nothing a test checks depends on them."""
    import queue

    try:
        from prefect._internal.concurrency import services
        from prefect.events.worker import EventsWorker
    except ImportError:
        return
    for service in list(getattr(services, "_active_services", ())):
        if not isinstance(service, EventsWorker):
            continue
        while True:
            try:
                service._queue.get_nowait()
            except queue.Empty:
                break
            service._queue.task_done()
        service._stopped = True
        service._queue.put_nowait(None)  # ends the service's loop, so its exit hook returns
