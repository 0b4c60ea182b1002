"""The 2xH200 results: readable by the flow, labelled 'measured:2xNVIDIA H200', and never shadowing one-GPU runs."""
from __future__ import annotations

import pytest

from tasks.gpu.parallel.bytes import h100_gpus_needed, per_rank_bytes
from tasks.gpu.points import step_bytes
from tasks.gpu.results import Provenance, gpu_count
from tasks.moe.specs import load_model_spec


def test_gpu_count_reads_the_name_prefix():
    prov = lambda name: Provenance(name, "d", "c", "t", "2026", "abc1234", "cmd")  # noqa: E731
    assert gpu_count(prov("2xNVIDIA H200")) == 2 and gpu_count(prov("NVIDIA H200")) == 1


def test_per_gpu_bytes_split_the_step():
    spec = load_model_spec("llada2_flash")
    cost = step_bytes(spec, 64, 512, [94.0] * len(spec.moe_layer_indices))
    ranks = per_rank_bytes(cost, spec, [47.0, 47.0])
    total = cost.bytes_breakdown()
    replicated = total["router"] + total["embedding"]
    assert sum(r["total"] for r in ranks) == pytest.approx(total["total"] + replicated)  # replicated parts twice
    assert h100_gpus_needed(spec, 206e9)["h100_gpus"] == 4  # 3 hold the bytes, 256 experts split in 4
    assert h100_gpus_needed(load_model_spec("llama2_70b"), 138e9)["h100_gpus"] == 2


def test_flash_is_measured_on_two_gpus_and_one_gpu_runs_win_elsewhere():
    pytest.importorskip("pydantic", reason="the flow's ingestion needs the project's dependencies; the GPU image has torch only")
    from tasks.experiments.measured import load_recorded, match_measurement
    from tasks.moe.sweep import SweepPointSpec, run_point
    from tasks.settings import PROJECT_ROOT

    recorded = load_recorded(PROJECT_ROOT / "results")
    if not any(gpu_count(run.provenance) == 2 for _, run in recorded.runs):
        pytest.skip("no 2-GPU results committed")
    flash = match_measurement(run_point(SweepPointSpec("llada2_flash", "calibrated", 64, steps=2)), recorded)
    assert flash is not None and flash.source == "measured:2xNVIDIA H200"
    par = flash.point.engine_info["parallel"]
    assert par["world_size"] == 2 and len(par["per_rank"]) == 2 and 0 <= par["a2a_share"] < 1
    assert set(flash.point.telemetry) == {"gpu0", "gpu1"}
    mini = match_measurement(run_point(SweepPointSpec("llada2_mini", "calibrated", 64, steps=2)), recorded)
    if mini is not None:
        assert mini.source == "measured:NVIDIA H200"  # the one-GPU sweep, not the sharded run


def test_a_two_gpu_measurement_is_projected_per_gpu_onto_the_target_count():
    """The flagship answer scales a 2xH200 step by its 2 GPUs before splitting over the H100s the model needs."""
    from types import SimpleNamespace

    from tasks.experiments.flagship import target_answer
    row = SimpleNamespace(model="llada2_flash", n_tokens=64, measured=True, step_ms=14.7, hardware="2xNVIDIA H200")
    ans = target_answer([row], "llada2_flash", 64, "h100_sxm", 576)
    assert ans is not None and ans.provenance.startswith("projected:") and "2 measured GPUs" in ans.provenance
    assert ans.step_ms == pytest.approx(14.7 * 4.8 / 3.35 * 2 / ans.gpus)
