"""Sharded (2-GPU) results in the flow (issue 17): ingested from the configured folders with their label, used only
for models no single GPU measured, and projected onto the number of target GPUs a model needs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from tasks.experiments.measured import RecordedResults, consistent_runs, load_recorded, match_measurement, results_folders
from tasks.moe.sweep import SweepPointSpec, run_point, sweep_points
from tasks.settings import PROJECT_ROOT, QuestionSettings, SweepSettings
from tasks.tribunal.build import build_bundle

TWO = "2xNVIDIA H200"
SWEEP_YAML = yaml.safe_load((PROJECT_ROOT / "conf/sweep/tokens.yaml").read_text())
TWO_GPU_FILES = sorted((PROJECT_ROOT / "results/h200x2").glob("*_parallel.json"))


def _settings(**over) -> SweepSettings:
    return SweepSettings(**(SWEEP_YAML | {"steps": 2, "tokens": [64]} | over))  # the real sweep config, shrunk for CPU


def test_the_real_config_names_the_two_gpu_folder_and_accepts_one_folder_or_a_glob(tmp_path):
    s = _settings()
    assert "results/h200x2" in s.results_dir and s.results_dir[0] == "results/h200"
    assert _settings(results_dir="results/h200").results_dir == ["results/h200"]  # a plain string still works
    (tmp_path / "h200").mkdir(), (tmp_path / "h200x2").mkdir(), (tmp_path / "reports").mkdir()
    assert results_folders([str(tmp_path / "h200*")]) == [tmp_path / "h200", tmp_path / "h200x2"]
    assert results_folders([str(tmp_path / "missing")]) == []
    with pytest.raises(ValueError, match="sweep.results_dir"):
        _settings(results_dir=[])


@pytest.mark.skipif(not TWO_GPU_FILES, reason="no 2-GPU results committed")
def test_a_two_gpu_point_is_ingested_with_its_label(tmp_path):
    """Only the folders the config names are read; a copy of a 2-GPU file elsewhere is not picked up."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    shutil.copy(TWO_GPU_FILES[-1], two / TWO_GPU_FILES[-1].name)
    flash = run_point(SweepPointSpec("llada2_flash", "calibrated", 64, steps=2))
    assert match_measurement(flash, load_recorded([one])) is None
    recorded = load_recorded([one, two])
    runs = consistent_runs(recorded, [flash])
    m = match_measurement(flash, recorded, runs=runs)
    assert m is not None and m.source == f"measured:{TWO}" and m.results_file.endswith(TWO_GPU_FILES[-1].name)
    assert m.point.engine in ("ep2_all_to_all", "ep2_replicated") and m.point.engine_info["parallel"]["world_size"] == 2
    real = load_recorded(_settings().results_dir)  # the committed folders, as the main job reads them
    m = match_measurement(flash, real, runs=consistent_runs(real, [flash]))
    assert m is not None and m.source == f"measured:{TWO}"


def _run(gpu: str, ns, ms: float, date: str):
    pts = [SimpleNamespace(model="llada2_mini", routing="calibrated", n_tokens=n, kind="step", prefix_len=512, engine="e",
                           step_ms=ms) for n in ns]
    find = lambda model, routing, n, kind: [p for p in pts if (p.model, p.routing, p.n_tokens, p.kind) == (model, routing, n, kind)]  # noqa: E731
    return SimpleNamespace(find=find, provenance=SimpleNamespace(gpu_name=gpu, date=date))


def test_a_model_measured_on_one_gpu_keeps_its_one_gpu_file_even_when_the_sharded_run_covers_more_n():
    one, two = Path("one.json"), Path("two.json")
    recorded = RecordedResults(runs=[(one, _run("NVIDIA H200", [64], 5.0, "2026-11-29")),
                                     (two, _run(TWO, [64, 128], 4.0, "2026-11-30"))])
    pts = [run_point(SweepPointSpec("llada2_mini", "calibrated", n, steps=2)) for n in (64, 128)]
    runs = consistent_runs(recorded, pts)
    assert runs == {("llada2_mini", "calibrated"): one}
    assert match_measurement(pts[1], recorded, runs=runs) is None  # N=128 not on one GPU: no mixing of harnesses


def _measurement(gpu: str, ms: float) -> SimpleNamespace:
    point = SimpleNamespace(step_ms=ms, unique_experts_mean=None, unique_experts_p90=None, bytes_moved=1e10, util_copy=0.5,
                            spread=0.01, h100_projected_ms=None)
    return SimpleNamespace(source=f"measured:{gpu}", point=point, provenance={"gpu_name": gpu})


@pytest.fixture(scope="module")
def flash_bundle():
    q = QuestionSettings(**yaml.safe_load((PROJECT_ROOT / "conf/question/expert_explosion.yaml").read_text()))
    s = _settings(models=["llada2_mini", "llada2_flash", "llama2_70b"], tokens=[1, 64, 128])
    measured = {("llada2_mini", 64): ("NVIDIA H200", 5.0), ("llada2_mini", 128): ("NVIDIA H200", 6.0),
                ("llama2_70b", 1): ("NVIDIA H200", 36.5), ("llada2_flash", 64): (TWO, 14.7), ("llada2_flash", 128): (TWO, 18.1)}
    points = []
    for spec in sweep_points(s.models, ["calibrated"], s.tokens, ("h100_sxm", "h200"), steps=2):
        r = run_point(spec)
        m = measured.get((r.model, r.n_tokens))
        points.append(SimpleNamespace(projected=r, measurement=_measurement(*m) if m else None, run_id=f"run-{r.model}-{r.n_tokens}"))
    recorded = load_recorded(s.results_dir)
    return build_bundle(q, [], 0, ["snapshot"], sweep_points=points, recorded=recorded)


def test_the_flash_h100_projection_uses_the_gpu_count(flash_bundle):
    tl = {(t.model, t.n_tokens, t.hardware): t for t in flash_bundle.token_latency}
    meas = tl[("llada2_flash", 64, TWO)]
    assert meas.provenance == f"measured:{TWO}" and meas.step_ms == 14.7
    proj = tl[("llada2_flash", 64, "h100_sxm x4")]  # 206 GB: four 80 GB H100s by the feasibility rule
    assert proj.step_ms == pytest.approx(14.7 * 4.8 / 3.35 * 2 / 4)
    assert proj.provenance.startswith("projected:") and "(2 measured GPUs / 4 GPUs)" in proj.provenance
    assert "no extra communication" in proj.provenance
    mini = tl[("llada2_mini", 64, "h100_sxm")]  # one-GPU model: one-GPU measurement, no split
    assert mini.step_ms == pytest.approx(5.0 * 4.8 / 3.35) and "measured GPUs" not in mini.provenance


def test_the_report_gives_flash_as_measured_and_projected(flash_bundle):
    from tasks.report import flagship

    text = flagship.abstract(flash_bundle)
    assert "LLaDA2.0-flash does not fit one GPU and was measured sharded on 2xNVIDIA H200" in text
    assert f"[measured: {TWO}]" in text and "four H100 SXMs" in text and "(2 measured GPUs / 4 GPUs)" in text
    lim = flagship.limitations(flash_bundle)
    assert "Not measured on a GPU: llada2_flash" not in lim and "lower bound" in lim
    assert all(r.experts_prov.kind == "modelled" for r in flash_bundle.rows("llada2_flash"))  # unique experts stay modelled


@pytest.mark.skipif(not TWO_GPU_FILES, reason="no 2-GPU results committed")
def test_the_two_gpu_subsection_labels_every_sharded_step(flash_bundle):
    from tasks.report.sharded import two_gpus_section

    rows = flash_bundle.two_gpu
    assert {r.hardware for r in rows} == {TWO} and {"llada2_flash", "llada2_mini"} <= {r.model for r in rows}
    assert all(0 <= (r.a2a_share or 0) < 1 for r in rows)
    text = two_gpus_section(flash_bundle)
    lines = [ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("| model")]
    assert lines and all(ln.count(f"[measured: {TWO}]") == 1 for ln in lines) and "[measured: NVIDIA H200]" in text
    assert not any(ln.startswith("| llama2_70b | 1 |") for ln in lines)  # a dense N=1 step is its decode, shown once
    assert "none" in text  # no all-to-all in replicated / tensor-parallel mode: not a measured 0%
    json.dumps([r.model_dump() for r in rows])
