"""A watchdog process that outlives a SIGKILLed run just long enough to stop the processes the run started.

Prefect's temporary API server (``uvicorn ... prefect.server.api.server``) is a child process; when the run is
killed with SIGKILL nothing in the run can stop it, and it lingers for good. The reaper polls the run's process
tree every second, and once the run's pid is gone it terminates every descendant it saw (checked by start time,
so a reused pid is never hit), then exits.

    python -m flows.reaper <pid>      # started by flows/main.py through ``start_reaper()``
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

POLL_S = 1.0
TERM_WAIT_S = 5.0


def _descendants(root: psutil.Process) -> dict[int, float]:
    try:
        return {p.pid: p.create_time() for p in root.children(recursive=True) if p.pid != os.getpid()}
    except psutil.Error:
        return {}


def reap_after(pid: int, poll_s: float = POLL_S) -> list[int]:
    """Wait for ``pid`` to end, then stop the descendants it had; returns the pids that were stopped."""
    try:
        root = psutil.Process(pid)
        started = root.create_time()
    except psutil.Error:
        return []
    seen: dict[int, float] = {}
    while True:
        try:
            alive = root.is_running() and root.create_time() == started and root.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            alive = False
        if not alive:
            break
        seen.update(_descendants(root))
        time.sleep(poll_s)
    left = []
    for child_pid, created in seen.items():
        try:
            child = psutil.Process(child_pid)
            if child.create_time() == created:
                child.terminate()
                left.append(child)
        except psutil.Error:
            continue
    _, alive = psutil.wait_procs(left, timeout=TERM_WAIT_S)
    for child in alive:
        try:
            child.kill()
        except psutil.Error:
            pass
    return [c.pid for c in left]


def start_reaper() -> subprocess.Popen | None:
    """Start the watchdog for this process (it ends by itself when this process ends)."""
    try:
        return subprocess.Popen([sys.executable, "-m", "flows.reaper", str(os.getpid())], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_root()), os.environ.get("PYTHONPATH")]))})
    except OSError:
        return None


def _root() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parents[1])


if __name__ == "__main__":
    reap_after(int(sys.argv[1]))
