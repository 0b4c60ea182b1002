"""Prefect deployments: UI forms whose typed fields become the Hydra overrides of ``flows/main.py``.

    python flows/deployments.py serve                 # one machine: serve `research` and `sweep-tokens`
    python flows/deployments.py setup [--gpus N]      # team server: work pools cpu/gpu + the gpu concurrency limit
    python flows/deployments.py worker --pool cpu     # a process worker with the project's env defaults
    python flows/deployments.py worker --pool gpu --gpu 0   # one worker per GPU, one run at a time
    python flows/deployments.py overrides --tokens 64 128   # print the CLI a sweep-tokens form would run

A form run validates its overrides exactly as ``flows/main.py`` does, logs the equivalent
command line, then calls ``research(overrides=...)``: the same flow, the same config.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flows.env import apply_defaults  # noqa: E402

apply_defaults()

from prefect import flow, get_run_logger  # noqa: E402

from flows.forms import DEFAULTS, Embedder, Hardware, ModelName, Retrieval, Routing, cli_command, research_overrides, sweep_overrides  # noqa: E402
from flows.prefect_ui import job_run_name  # noqa: E402
from flows.safety import reject_secret_overrides  # noqa: E402

GPU_LIMIT = "gpu"  # global concurrency limit: one slot per GPU, held by the GPU stage
LOOPBACK = "127.0.0.1"


def _launch(overrides: list[str]) -> dict:
    from flows.config import check_credentials, load_settings
    from flows.research import research

    reject_secret_overrides(overrides)
    check_credentials(load_settings(overrides)[0])  # fail fast, naming the key or variable, as flows/main.py does
    get_run_logger().info("equivalent command line: %s", cli_command(overrides))
    return research(overrides=overrides)


@flow(name="research-job", log_prints=True, flow_run_name=job_run_name)
def research_job(
    retrieval: Retrieval = DEFAULTS["retrieval"],
    embedder: Embedder = DEFAULTS["embedder"],
    run_name: str = "",
    smoke: bool = False,
    overrides: list[str] = [],  # noqa: B006 - Prefect copies parameters; the form shows an empty list
) -> dict:
    """Run the research flow from a UI form; fields left at their defaults keep the config defaults.

    Args:
        retrieval: arXiv live (falls back to the snapshot) or the offline snapshot only.
        embedder: minilm (offline) or nim (needs NVIDIA_API_KEY in the worker's environment).
        run_name: names the Prefect flow run and the MLflow run; blank: "<question>-<timestamp>".
        smoke: CI smoke mode (fewer queries and papers, same code path).
        overrides: further Hydra overrides, exactly as on the command line; they win.
    """
    return _launch(research_overrides(retrieval, embedder, run_name or None, smoke, overrides))


@flow(name="sweep-tokens-job", log_prints=True, flow_run_name=job_run_name)
def sweep_tokens_job(
    tokens: list[int] = DEFAULTS["tokens"],  # noqa: B006
    models: list[ModelName] = DEFAULTS["models"],  # noqa: B006
    routing: Routing = DEFAULTS["routing"],
    hardware: Hardware = DEFAULTS["hardware"],
    retrieval: Retrieval = DEFAULTS["retrieval"],
    run_name: str = "",
    smoke: bool = False,
    overrides: list[str] = [],  # noqa: B006
) -> dict:
    """Run research with the parallel-token sweep (``+sweep=tokens``) from a UI form.

    Args:
        tokens: parallel-token counts N (default: conf/sweep/tokens.yaml).
        models: conf/model keys (default: the flagship models and the dense baseline).
        routing: the routing model.
        hardware: the target hardware.
        retrieval: as in the research form.
        run_name: names the Prefect flow run and the MLflow run.
        smoke: CI smoke mode.
        overrides: further Hydra overrides, exactly as on the command line; they win.
    """
    return _launch(sweep_overrides(tokens, models, routing, hardware, retrieval, run_name or None, smoke, overrides))


@contextmanager
def gpu_slot(timeout_s: float | None = None) -> Iterator[None]:
    """Hold one slot of the ``gpu`` global concurrency limit (one per GPU) around GPU work.

    Without a Prefect API, or without the limit created, it does not block.
    """
    from prefect.concurrency.sync import concurrency

    with concurrency(GPU_LIMIT, occupy=1, timeout_seconds=timeout_s, strict=False):
        yield


def local_gpu_count() -> int:
    """GPUs on this machine (NVML), 0 without a driver."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return int(pynvml.nvmlDeviceGetCount())
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # noqa: BLE001 - NVMLError_LibraryNotFound and friends mean "no GPU"
        return 0


def ensure_pools_and_limits(gpus: int) -> None:
    """Create (or update) the process work pools ``cpu`` and ``gpu`` and the ``gpu`` concurrency limits.

    Two limits of ``gpus`` slots: the global limit ``gpu`` (held by ``gpu_slot()``) and the
    tag limit ``gpu`` (held by every task tagged "gpu").
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate, WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        for pool in ("cpu", "gpu"):
            try:
                client.create_work_pool(WorkPoolCreate(name=pool, type="process", description=f"Sovereign {pool} runs"))
            except ObjectAlreadyExists:
                pass
        slots = max(1, gpus)
        try:
            client.read_global_concurrency_limit_by_name(GPU_LIMIT)
            client.update_global_concurrency_limit(GPU_LIMIT, GlobalConcurrencyLimitUpdate(limit=slots))
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=GPU_LIMIT, limit=slots))
        # Tasks tagged "gpu" (the sweep's measure-gpu task) take a slot of the tag limit of the same name.
        try:
            if client.read_concurrency_limit_by_tag(GPU_LIMIT).concurrency_limit != slots:
                client.delete_concurrency_limit_by_tag(GPU_LIMIT)
                client.create_concurrency_limit(tag=GPU_LIMIT, concurrency_limit=slots)
        except ObjectNotFound:
            client.create_concurrency_limit(tag=GPU_LIMIT, concurrency_limit=slots)


def runner_deployments() -> list:
    """The two deployments as served from this machine (same names as deploy/prefect.yaml)."""
    return [
        research_job.to_deployment("research", tags=["sovereign", "cpu"], description=research_job.__doc__),
        sweep_tokens_job.to_deployment("sweep-tokens", tags=["sovereign", "gpu"], description=sweep_tokens_job.__doc__),
    ]


class DeploymentClash(RuntimeError):
    """A deployment of the same name is already registered on a work pool of this server."""


def check_no_pool_deployments(names: list[str]) -> None:
    """Refuse to serve over deployments that ``prefect deploy`` registered for workers.

    A served deployment would inherit their pull steps and storage and then crash on load.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        for name in names:
            try:
                pool = client.read_deployment_by_name(name).work_pool_name
            except ObjectNotFound:
                continue
            if pool:
                raise DeploymentClash(
                    f"deployment '{name}' is registered for work pool '{pool}' on this server (by `prefect deploy`); "
                    f"`serve` is for a single machine. Start a worker instead (python flows/deployments.py worker --pool {pool}), "
                    f"or remove it first: prefect deployment delete '{name}'"
                )


def serve(limit: int | None = None) -> None:
    """Register both deployments and run their flow runs on this machine until interrupted."""
    from prefect import serve as prefect_serve

    os.chdir(ROOT)  # served entrypoints are paths relative to the project root
    deployments = runner_deployments()
    if os.environ.get("PREFECT_API_URL"):
        check_no_pool_deployments([f"{d.flow_name}/{d.name}" for d in deployments])
        ensure_pools_and_limits(local_gpu_count())
    prefect_serve(*deployments, limit=limit)


def server_command(host: str | None = None, port: int = 4200) -> list[str]:
    """``prefect server start`` bound to loopback unless SOVEREIGN_BIND_HOST (or ``host``) says otherwise."""
    return [sys.executable, "-m", "prefect", "server", "start", "--host", host or os.environ.get("SOVEREIGN_BIND_HOST", LOOPBACK), "--port", str(port)]


def server_env(host: str | None = None, port: int = 4200) -> dict[str, str]:
    """The server's environment: the UI's API URL follows the port (the UI in the browser calls it), unless set."""
    env = dict(os.environ)
    bind = host or os.environ.get("SOVEREIGN_BIND_HOST", LOOPBACK)
    shown = LOOPBACK if bind in ("0.0.0.0", "::") else bind
    env.setdefault("PREFECT_UI_API_URL", f"http://{shown}:{port}/api")
    return env


def worker_command(pool: str, gpu: int | None = None, limit: int | None = None) -> tuple[list[str], dict[str, str]]:
    """The ``prefect worker start`` command and env for a worker on ``pool``; a GPU worker owns one GPU."""
    env = dict(os.environ)
    name = f"{pool}-{socket.gethostname()}"
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(gpu)
        name += f"-gpu{gpu}"
        limit = 1
    cmd = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process", "--name", name]
    if limit:
        cmd += ["--limit", str(limit)]
    return cmd, env


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python flows/deployments.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="serve both deployments from this machine")
    p_serve.add_argument("--limit", type=int, default=None, help="max concurrent runs on this machine")
    p_setup = sub.add_parser("setup", help="create the work pools and the gpu concurrency limit")
    p_setup.add_argument("--gpus", type=int, default=None, help="slots of the gpu limit (default: GPUs here, at least 1)")
    p_worker = sub.add_parser("worker", help="start a process worker on a pool")
    p_worker.add_argument("--pool", choices=["cpu", "gpu"], required=True)
    p_worker.add_argument("--gpu", type=int, default=None, help="GPU index this worker owns (sets CUDA_VISIBLE_DEVICES, --limit 1)")
    p_worker.add_argument("--limit", type=int, default=None)
    p_server = sub.add_parser("server", help="start a Prefect server bound to 127.0.0.1")
    p_server.add_argument("--port", type=int, default=4200)
    p_over = sub.add_parser("overrides", help="print the command line a sweep-tokens form runs")
    p_over.add_argument("--tokens", type=int, nargs="*")
    p_over.add_argument("--models", nargs="*")
    p_over.add_argument("extra", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "serve":
        try:
            serve(args.limit)
        except DeploymentClash as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    elif args.command == "setup":
        ensure_pools_and_limits(args.gpus if args.gpus is not None else local_gpu_count())
        print("work pools 'cpu', 'gpu' and concurrency limit 'gpu' are ready")
    elif args.command == "worker":
        os.chdir(ROOT)
        cmd, env = worker_command(args.pool, args.gpu, args.limit)
        os.execve(cmd[0], cmd, env)
    elif args.command == "server":
        cmd = server_command(port=args.port)
        os.execve(cmd[0], cmd, server_env(port=args.port))
    elif args.command == "overrides":
        print(cli_command(sweep_overrides(tokens=args.tokens, models=args.models, overrides=args.extra)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
