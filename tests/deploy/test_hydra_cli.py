"""flows/main.py speaks Hydra's command line: --cfg, --help with the groups, -m multirun (one MLflow parent per job)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.deploy.servers import ROOT, base_env


def _main(args: list[str], tmp, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "flows/main.py", *args], cwd=ROOT, env=base_env(tmp), capture_output=True, text=True, timeout=timeout)


def test_cfg_job_prints_the_composed_config_and_runs_nothing(tmp_path):
    out = _main(["--cfg", "job", "+sweep=tokens", "sweep.tokens=[64,128]", f"run.output_dir={tmp_path}/out"], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "question:" in out.stdout and "tokens:\n  - 64\n  - 128" in out.stdout.replace("  tokens:", "tokens:")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("report.md"))


def test_help_lists_the_config_groups(tmp_path):
    out = _main(["--help"], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "== Configuration groups ==" in out.stdout
    for group in ("retrieval: arxiv, snapshot", "sweep: tokens", "tribunal:", "verifier:"):
        assert group in out.stdout


def test_multirun_expands_to_one_job_per_value():
    from flows.main import expand_jobs

    jobs = expand_jobs(["+sweep=tokens", "sweep.tokens=[64],[128]", "hydra.job.chdir=false"], multirun=True)
    assert jobs == [["+sweep=tokens", "sweep.tokens=[64]"], ["+sweep=tokens", "sweep.tokens=[128]"]]
    assert expand_jobs(["retrieval=arxiv,snapshot", "run.seed=1"], multirun=True) == [["retrieval=arxiv", "run.seed=1"], ["retrieval=snapshot", "run.seed=1"]]
    assert expand_jobs(["+sweep=tokens"], multirun=False) == [["+sweep=tokens"]]


def test_a_bad_job_in_a_multirun_stops_everything_before_it_starts(tmp_path):
    out = _main(["-m", "+sweep=tokens", "sweep.tokens=[64],[0]", f"tracking.store_dir={tmp_path}/mlruns"], tmp_path)
    assert out.returncode == 2 and "sweep.tokens must be positive" in out.stderr, out.stderr[-2000:]
    assert not (tmp_path / "mlruns" / "mlflow.db").exists(), "nothing may run when one job of the sweep is bad"


@pytest.mark.slow
@pytest.mark.integration
def test_multirun_makes_one_parent_run_per_job(tmp_path):
    from mlflow.tracking import MlflowClient

    paths = [f"tracking.store_dir={tmp_path}/mlruns", f"run.output_dir={tmp_path}/out", f"run.cache_dir={tmp_path}/cache"]
    out = _main(["-m", "retrieval=snapshot", "run.smoke=true", "+sweep=tokens", "sweep.tokens=[64],[128]",
                 "sweep.models=[llada2_mini]", *paths], tmp_path, timeout=900)
    assert out.returncode == 0, out.stderr[-4000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    runs = [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 2 and all(p.info.status == "FINISHED" for p in parents)
    assert sorted(p.data.params["sweep.tokens"] for p in parents) == ["[128]", "[64]"]
