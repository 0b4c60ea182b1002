"""The team stack as subprocesses: PostgreSQL 15, a Prefect server and an MLflow tracking server on it.

Each process is started in its own session and stopped by its PID (PostgreSQL by the postmaster's PID from
postmaster.pid). As root, PostgreSQL runs as the ``postgres`` user, as the Debian packages expect.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tests.deploy.servers import base_env, free_port, free_ports, spawn, stop, wait_healthy

PG_USER = "sovereign"


def pg_bin(name: str) -> str | None:
    """``initdb``/``pg_ctl``/``createdb`` on PATH or in Debian's /usr/lib/postgresql/<v>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _as_db_owner(cmd: list[str]) -> list[str]:
    """Run as ``postgres`` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--", *cmd] if runuser else ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]


def postgres_available() -> str | None:
    """Why the stack cannot start here, or None."""
    if not all(pg_bin(n) for n in ("initdb", "pg_ctl", "createdb")):
        return "PostgreSQL binaries (initdb, pg_ctl) not found; apt-get install postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a 'postgres' user"
    return None


@dataclass
class Postgres:
    port: int
    data: Path
    pid: int

    def url(self, db: str, driver: str = "") -> str:
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{PG_USER}@127.0.0.1:{self.port}/{db}"


@contextmanager
def postgres(databases: tuple[str, ...] = ("prefect", "mlflow")) -> Iterator[Postgres]:
    """A throwaway cluster on a loopback port (trust auth for our user only, no socket in /var/run)."""
    root = Path(tempfile.mkdtemp(prefix="sovereign-pg-"))
    data, log = root / "data", root / "postgres.log"
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    port = free_port()
    run = lambda cmd: subprocess.run(_as_db_owner(cmd), capture_output=True, text=True, timeout=120, cwd=root)  # noqa: E731
    init = run([pg_bin("initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
    if init.returncode:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr[-2000:]}")
    opts = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    started = run([pg_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "60", "start"])
    pid = 0
    try:
        if started.returncode:
            raise RuntimeError(f"pg_ctl start failed: {started.stderr[-1000:]}\n{log.read_text()[-2000:] if log.exists() else ''}")
        pid = int((data / "postmaster.pid").read_text().split()[0])
        for db in databases:
            made = run([pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", PG_USER, db])
            if made.returncode:
                raise RuntimeError(f"createdb {db} failed: {made.stderr[-1000:]}")
        yield Postgres(port, data, pid)
    finally:
        if pid:
            try:
                os.kill(pid, signal.SIGINT)  # "fast" shutdown of the postmaster, by its PID
                for _ in range(300):
                    os.kill(pid, 0)
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(root, ignore_errors=True)


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[:4]} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy after {timeout_s}s:\n{log.read_text(errors='replace')[-3000:]}")


@dataclass
class TeamStack:
    tmp: Path
    pg: Postgres
    prefect_api: str
    mlflow_url: str
    env: dict[str, str]
    processes: list[subprocess.Popen]


@contextmanager
def team_stack(tmp: Path) -> Iterator[TeamStack]:
    """PostgreSQL + ``prefect server`` (postgresql+asyncpg) + ``mlflow server`` (postgresql, psycopg 3, served artifacts)."""
    procs: list[subprocess.Popen] = []
    with postgres() as pg:
        try:
            prefect_port, mlflow_port = free_ports(2)
            api = f"http://127.0.0.1:{prefect_port}/api"
            env = base_env(tmp) | {"PREFECT_API_DATABASE_CONNECTION_URL": pg.url("prefect", "asyncpg"),
                                   "PREFECT_UI_API_URL": api, "PREFECT_SERVER_LOGGING_LEVEL": "WARNING"}
            prefect_log, mlflow_log = tmp / "prefect-server.log", tmp / "mlflow-server.log"
            procs.append(spawn([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(prefect_port)], env, prefect_log))
            for attempt in range(3):  # a port picked free can be taken before the server binds it: pick again
                mlflow_url = f"http://127.0.0.1:{mlflow_port}"
                procs.append(spawn([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(mlflow_port),
                                    "--backend-store-uri", pg.url("mlflow"), "--serve-artifacts",
                                    "--artifacts-destination", str(tmp / "mlartifacts"), "--workers", "1"], env, mlflow_log))
                try:
                    wait_http(f"{mlflow_url}/health", procs[-1], mlflow_log, timeout_s=180)
                    break
                except RuntimeError:
                    if attempt == 2 or "address already in use" not in mlflow_log.read_text(errors="replace"):
                        raise
                    stop(procs.pop())
                    mlflow_port = free_port()
            wait_healthy(api, procs[0], prefect_log, timeout_s=180)
            client_env = base_env(tmp, api) | {"SOVEREIGN_TRACKING_URI": mlflow_url, "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL": "1"}
            yield TeamStack(tmp, pg, api, mlflow_url, client_env, procs)
        finally:
            for proc in reversed(procs):
                stop(proc)
