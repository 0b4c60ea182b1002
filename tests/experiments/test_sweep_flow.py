"""The sweep stage end to end on CPU: mapped points, MLflow child runs, recorded-results join."""

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import cpu_overrides

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SWEEP = ["+sweep=tokens", "sweep.models=[llada2_mini,llama2_70b]", "sweep.tokens=[8,64,128]", "sweep.steps=4",
         "tribunal.threshold=9.9"]  # a revision round always runs, so the tribunal asks for the missing question models


@pytest.fixture(scope="module")
def sweep_run(prefect_harness, tmp_path_factory):
    from flows.research import research

    tmp = tmp_path_factory.mktemp("sweep")
    results = tmp / "results"
    results.mkdir()
    (results / "broken.json").write_text("{not json")  # a malformed recorded-results file
    summary = research(overrides=cpu_overrides(tmp) + SWEEP + [f"sweep.results_dir={results}"])
    return tmp, summary


def _client(tmp: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}")


def _children(tmp, parent_id):
    client = _client(tmp)
    runs = client.search_runs([client.get_run(parent_id).info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'")
    return {r.data.tags["mlflow.runName"]: r for r in runs if r.data.tags.get("sovereign.origin") == "sweep"}


def test_tribunal_adds_the_question_models_the_sweep_left_out(sweep_run):
    """The shrunk sweep lacks llada_moe_7b; the validator asks for it at N=64 and 128 and the flow runs those points."""
    tmp, summary = sweep_run
    client = _client(tmp)
    runs = client.search_runs([client.get_run(summary["run_id"]).info.experiment_id],
                              filter_string=f"tags.`mlflow.parentRunId` = '{summary['run_id']}' and tags.`sovereign.origin` = 'tribunal'")
    added = {r.data.tags["mlflow.runName"] for r in runs}
    assert {"llada_moe_7b·calibrated·N=64", "llada_moe_7b·calibrated·N=128"} <= added
    assert all(r.info.status == "FINISHED" and r.data.metrics["unique_experts_mean"] > 0 for r in runs)


def test_one_child_run_per_point_with_params_and_metrics(sweep_run):
    tmp, summary = sweep_run
    children = _children(tmp, summary["run_id"])
    expected = {f"llada2_mini·{r}·N={n}" for r in ("calibrated", "iid") for n in (8, 64, 128)} | {f"llama2_70b·dense·N={n}" for n in (8, 64, 128)}
    assert set(children) == expected
    child = children["llada2_mini·calibrated·N=64"]
    assert child.data.params["source"] == "modelled"  # the only recorded file is malformed
    assert child.data.params["provenance.unique_experts"] == "modelled: calibrated routing"
    assert child.data.tags["sovereign.provenance.unique_experts"] == "modelled"
    assert child.data.params["model"] == "llada2_mini" and child.data.params["N"] == "64"
    m = child.data.metrics
    assert 0 < m["unique_experts_mean"] <= m["unique_experts_p90"] <= 256
    assert m["unique_experts_mean"] < m["iid_expected_unique"]  # calibrated routing concentrates
    assert m["roofline_ms_h100_sxm"] > m["roofline_ms_h200"] > 0
    assert 0 < float(child.data.params["bandwidth_util_modelled_h100_sxm"]) <= 1  # a param: 1.0 when memory-bound
    dense = children["llama2_70b·dense·N=64"].data.metrics
    assert dense["roofline_ms_h100_sxm"] > 5 * m["roofline_ms_h100_sxm"]


def test_parent_gets_summary_and_growth_fits(sweep_run):
    tmp, summary = sweep_run
    client = _client(tmp)
    names = {a.path for a in client.list_artifacts(summary["run_id"], "sweep")}
    assert {"sweep/sweep_summary.csv", "sweep/growth_fits.json"} <= names
    fits = json.loads((Path(summary["out_dir"]) / "sweep" / "growth_fits.json").read_text())
    fitted = {(f["model"], f["routing"]) for f in fits}
    assert {("llada2_mini", "calibrated"), ("llada2_mini", "iid")} <= fitted
    assert fitted - {("llada2_mini", "calibrated"), ("llada2_mini", "iid")} <= {("llada_moe_7b", "calibrated"), ("llada2_flash", "calibrated")}  # added by the tribunal
    assert client.get_run(summary["run_id"]).data.metrics["sweep_points"] == 9


def test_unique_experts_grow_with_n_but_stay_bounded(sweep_run):
    tmp, summary = sweep_run
    children = _children(tmp, summary["run_id"])
    for routing in ("calibrated", "iid"):
        u = [children[f"llada2_mini·{routing}·N={n}"].data.metrics["unique_experts_mean"] for n in (8, 64, 128)]
        assert u == sorted(u) and u[-1] <= min(256, 128 * 8)


def test_live_gpu_argv_is_accepted_by_the_measurement_cli(tmp_path):
    """With CUDA present the flow runs tasks.gpu.measure; its argv must parse and carry the sweep's shape."""
    from flows.config import load_settings
    from flows.sweep import live_measure_argv
    from tasks.gpu.measure import build_parser

    settings, _ = load_settings(["+sweep=tokens", "routing=iid", "sweep.tokens=[64,128]"])
    args = build_parser().parse_args(live_measure_argv(settings, tmp_path / "live.json"))
    assert args.models == list(settings.sweep.models) and "llama2_70b" in args.models and args.tokens == [64, 128]
    assert args.routing == "iid" and args.prefix_len == 512 and args.out.endswith("live.json")


def test_recorded_h200_results_join_the_matching_points():
    """The committed H200 run is found for the flagship points and labelled measured:<gpu>."""
    from tasks.experiments.measured import load_recorded, match_measurement
    from tasks.moe.sweep import SweepPointSpec, run_point
    from tasks.settings import PROJECT_ROOT

    recorded = load_recorded(PROJECT_ROOT / "results")
    if not recorded.runs:
        pytest.skip("no recorded GPU results committed")
    point = run_point(SweepPointSpec("llada2_mini", "calibrated", 64, steps=4))
    m = match_measurement(point, recorded)
    assert m is not None and m.source == "measured:NVIDIA H200"
    assert m.point.prefix_len == point.prefix_len and m.point.n_tokens == 64
    assert 0 < m.metrics()["measured_util_copy"] <= 1.2
    assert match_measurement(run_point(SweepPointSpec("llada2_mini", "zipf", 64, steps=4)), recorded) is None


def test_live_gpu_results_are_written_inside_the_project_or_the_run(tmp_path, monkeypatch):
    from flows.safety import live_results_dir

    monkeypatch.delenv("SOVEREIGN_ALLOW_DIRS", raising=False)
    from tasks.settings import project_path

    inside = live_results_dir([project_path("results/h200")], tmp_path)
    assert inside == project_path("results/h200").resolve()
    outside = live_results_dir([tmp_path / "elsewhere"], tmp_path / "run")
    assert outside == tmp_path / "run" / "sweep"
    assert live_results_dir([project_path("results/h200*")], tmp_path) == project_path("results").resolve()
