"""A run triggered through the Prefect API, as the UI does, on a real server with real workers. No mocks.

One ``prefect server start --host 127.0.0.1`` for the module. First the team path:
``prefect deploy`` from deploy/prefect.yaml and a process worker on the ``gpu`` pool run the
``sweep-tokens`` form. Then the single-machine path: ``python flows/deployments.py serve`` runs
the ``research`` form. Every subprocess has fake API keys in its environment; the last test
greps the MLflow store, the Prefect database and every log for them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.deploy.servers import PREFECT, ROOT, base_env, listening_addresses, prefect_server, spawn, stop

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAKE_KEYS = {
    "NVIDIA_API_KEY": "nvapi-FAKE0123456789abcdefLEAKCHECK",
    "OPENAI_API_KEY": "sk-FAKE0123456789abcdefLEAKCHECK",
    "HF_TOKEN": "hf_FAKE0123456789abcdefLEAKCHECK",
}
RUN_TIMEOUT_S = 150
TIMINGS: dict[str, float] = {}


def _sweep_stage_wired() -> bool:
    """The sweep stage exists (flows/sweep.py) and the research flow calls it."""
    research = (ROOT / "flows" / "research.py").read_text()
    return (ROOT / "conf" / "sweep").is_dir() and (ROOT / "flows" / "sweep.py").exists() and "run_sweep" in research


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("team")
    started = time.perf_counter()
    with prefect_server(tmp) as (api_url, server):
        TIMINGS["server_healthy_s"] = time.perf_counter() - started
        # INFO, so that printed lines and the equivalent command line reach Prefect's log store.
        env = base_env(tmp, api_url) | FAKE_KEYS | {"PREFECT_LOGGING_LEVEL": "INFO"}
        yield {"tmp": tmp, "api_url": api_url, "server": server, "env": env}


@contextmanager
def _client(env: dict):
    """A Prefect client of the test server (this process may also run the in-process harness)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
        with get_client(sync_client=True) as client:
            yield client


def _trigger_and_wait(env: dict, deployment: str, parameters: dict) -> object:
    """Create a flow run from a deployment, as the UI's Run button does, and wait for a final state."""
    with _client(env) as client:
        dep = client.read_deployment_by_name(deployment)
        run = client.create_flow_run_from_deployment(dep.id, parameters=parameters)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            run = client.read_flow_run(run.id)
            if run.state and run.state.is_final():
                return run
            time.sleep(1)
    raise TimeoutError(f"{deployment} run {run.id} still {run.state.name if run.state else None} after {RUN_TIMEOUT_S}s")


def _wait_until_served(proc: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    """Wait for the serve process to say it registered its deployments and polls for runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        if "being served" in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise TimeoutError(f"deployments not served after {timeout_s}s:\n{log.read_text()[-3000:]}")


def _mlflow(tmp: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}")


def _parent_run(tmp: Path, overrides: list[str]):
    client = _mlflow(tmp)
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags and json.loads(r.data.tags["sovereign.overrides"]) == overrides]
    assert len(parents) == 1, f"expected one parent run for {overrides}, found {len(parents)}"
    return client, parents[0], [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]


def _paths(tmp: Path) -> list[str]:
    return [f"tracking.store_dir={tmp / 'mlruns'}", f"run.output_dir={tmp / 'outputs'}", f"run.cache_dir={tmp / 'cache'}"]


def test_server_binds_loopback_only(team):
    port = int(team["api_url"].rsplit(":", 1)[1].split("/")[0])
    assert listening_addresses(port) == {"0100007F"}, "the Prefect server must listen on 127.0.0.1 only"


def test_gpu_limit_gives_one_slot_per_gpu(team):
    """`setup --gpus 1` makes the `gpu` global concurrency limit: a second holder waits, then times out."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.deployments import gpu_slot

    setup = subprocess.run([sys.executable, "flows/deployments.py", "setup", "--gpus", "1"], cwd=ROOT, env=team["env"], capture_output=True, text=True, timeout=60)
    assert setup.returncode == 0, setup.stderr
    with temporary_settings(updates={PREFECT_API_URL: team["api_url"]}):
        with gpu_slot():
            started = time.perf_counter()
            with pytest.raises(TimeoutError):
                with gpu_slot(timeout_s=2):
                    pass
            assert time.perf_counter() - started >= 1.5
        with gpu_slot(timeout_s=10):  # released: free again
            pass
    with _client(team["env"]) as client:
        assert client.read_concurrency_limit_by_tag("gpu").concurrency_limit == 1  # for tasks tagged "gpu"
    setup = subprocess.run([sys.executable, "flows/deployments.py", "setup", "--gpus", "1"], cwd=ROOT, env=team["env"], capture_output=True, text=True, timeout=60)
    assert setup.returncode == 0, "setup is idempotent: " + setup.stderr


def test_deployed_sweep_form_runs_on_a_gpu_pool_worker(team):
    """prefect.yaml + `prefect deploy` + a process worker on `gpu`: the UI trigger completes and lands in MLflow."""
    from flows.forms import sweep_overrides

    tmp, env = team["tmp"], team["env"]
    started = time.perf_counter()
    setup = subprocess.run([sys.executable, "flows/deployments.py", "setup", "--gpus", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert setup.returncode == 0, setup.stderr
    deploy = subprocess.run([*PREFECT, "--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert deploy.returncode == 0, deploy.stdout[-2000:] + deploy.stderr[-2000:]
    TIMINGS["deploy_s"] = time.perf_counter() - started
    with _client(env) as client:
        schema = client.read_deployment_by_name("sweep-tokens-job/sweep-tokens").parameter_openapi_schema
        assert client.read_deployment_by_name("research-job/research").work_pool_name == "cpu"
    assert {"tokens", "models", "routing", "hardware", "retrieval", "smoke", "overrides"} <= set(schema["properties"])

    log = tmp / "worker-gpu.log"
    worker = spawn([sys.executable, "flows/deployments.py", "worker", "--pool", "gpu", "--gpu", "0"], env, log)
    try:
        form = {"tokens": [64, 128], "models": ["llada2_mini"], "retrieval": "snapshot", "smoke": True, "overrides": _paths(tmp)}
        started = time.perf_counter()
        run = _trigger_and_wait(env, "sweep-tokens-job/sweep-tokens", form)
        TIMINGS["worker_run_s"] = time.perf_counter() - started
    finally:
        stop(worker)
    assert run.state.is_completed(), f"{run.state.name}: {run.state.message}\n{log.read_text()[-4000:]}"

    expected = sweep_overrides(**form)
    client, parent, children = _parent_run(tmp, expected)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["papers_kept"] > 0 and parent.data.params["retrieval.backend"] == "snapshot"
    if _sweep_stage_wired() and children:
        names = {c.data.tags["mlflow.runName"] for c in children}
        assert {"llada2_mini·calibrated·N=64", "llada2_mini·calibrated·N=128"} <= names, names
        assert len(names) == len(children), "duplicate child runs"
        for child in children:  # the tribunal may add dense baseline points, which have no experts
            assert child.info.status == "FINISHED"
            assert child.data.params["routing"] == "dense" or child.data.metrics["unique_experts_mean"] > 0
    elif _sweep_stage_wired():
        pytest.fail("the sweep stage is wired but the run has no child runs")


def test_served_research_form_runs_on_this_machine(team):
    """`python flows/deployments.py serve`: the same forms, run by the serving process itself."""
    from flows.forms import research_overrides

    tmp, env = team["tmp"], team["env"]
    refused = subprocess.run([sys.executable, "flows/deployments.py", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "registered for work pool" in refused.stderr, refused.stderr[-2000:]
    with _client(env) as client:  # a single machine: no worker-pool deployments of the same names
        for name in ("research-job/research", "sweep-tokens-job/sweep-tokens"):
            client.delete_deployment(client.read_deployment_by_name(name).id)

    log = tmp / "serve.log"
    started = time.perf_counter()
    served = spawn([sys.executable, "flows/deployments.py", "serve"], env, log)
    try:
        _wait_until_served(served, log)
        TIMINGS["serve_registered_s"] = time.perf_counter() - started
        form = {"retrieval": "snapshot", "smoke": True, "run_name": "ui-served", "overrides": _paths(tmp)}
        started = time.perf_counter()
        run = _trigger_and_wait(env, "research-job/research", form)
        TIMINGS["served_run_s"] = time.perf_counter() - started
    finally:
        stop(served)
    assert run.state.is_completed(), f"{run.state.name}: {run.state.message}\n{log.read_text()[-4000:]}"
    _, parent, _ = _parent_run(tmp, research_overrides(**form))
    assert parent.info.status == "FINISHED" and parent.data.tags["mlflow.runName"] == "ui-served"
    assert parent.data.metrics["papers_kept"] > 0


def test_fake_keys_never_reach_mlflow_prefect_or_logs(team):
    """Grep every byte the runs left: MLflow's SQLite store and artifacts, Prefect's database, all logs."""
    tmp, env = team["tmp"], team["env"]
    with _client(env) as client:
        from prefect.client.schemas.filters import LogFilter

        api_logs = "\n".join(entry.message for entry in client.read_logs(LogFilter(), limit=200))
    assert "equivalent command line: python flows/main.py" in api_logs
    assert (tmp / "mlruns" / "mlflow.db").exists() and api_logs, "no run happened: nothing to check"
    scanned, leaks = 0, []
    for path in [p for p in tmp.rglob("*") if p.is_file()]:
        data = path.read_bytes()
        scanned += len(data)
        leaks += [f"{path.relative_to(tmp)}: {name}" for name, value in FAKE_KEYS.items() if value.encode() in data]
    leaks += [f"Prefect API logs: {name}" for name, value in FAKE_KEYS.items() if value in api_logs]
    assert scanned > 100_000
    assert not leaks, f"secret values leaked into: {leaks}"
    print(f"\ndeploy timings (s): { {k: round(v, 1) for k, v in TIMINGS.items()} }")
