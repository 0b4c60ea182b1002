"""The measurement harness on CPU: real specs shrunk, full and per-layer stacks, out-of-memory points."""
from __future__ import annotations

import time

import pytest
import torch

from tasks.gpu import measure
from tasks.gpu.harness import DiffusionStack, layer_kinds_of
from tasks.gpu.points import TimingConfig, guarded, time_stack
from tasks.gpu.results import MeasurementRun, collect_provenance
from tests.gpu.helpers import needs_cuda, tiny_spec


def _args(*extra):
    return measure.build_parser().parse_args(["--out", "unused.json", "--device", "cpu", "--reps", "3",
                                              "--rotations", "2", *extra])


def _run():
    return MeasurementRun(provenance=collect_provenance("test"), ceilings=measure.measure_ceilings("cpu"))


def test_step_shapes_and_routing_per_moe_layer():
    spec = tiny_spec()
    stack = DiffusionStack(spec, layer_kinds_of(spec), True, prefix_len=8, device="cpu")
    stack.set_engine("grouped")
    stack.prepare(5)
    routing = torch.from_numpy(measure.sample_routing(spec, "iid", 5, 1, 0)[0])
    assert routing.shape == (stack.n_moe, 5, spec.top_k)
    logits = stack.forward(torch.arange(5), routing)
    assert logits.shape == (5, spec.vocab) and torch.isfinite(logits.float()).all()
    with pytest.raises(RuntimeError, match="prepare"):
        stack.forward(torch.arange(6), routing)


def test_engines_give_the_same_step():
    spec = tiny_spec()
    stack = DiffusionStack(spec, layer_kinds_of(spec), True, prefix_len=8, device="cpu")
    stack.prepare(6)
    routing = torch.from_numpy(measure.sample_routing(spec, "calibrated", 6, 1, 0)[0])
    outs = []
    for engine in ("loop", "grouped"):
        stack.set_engine(engine)
        outs.append(stack.forward(torch.arange(6), routing).float())
    assert (outs[0] - outs[1]).norm() / outs[0].norm() < 2e-2


def test_sweep_records_oom_point_and_goes_on():
    spec = tiny_spec()
    run = _run()
    # a 60 MB fake budget: N=4 fits, N=200000 does not (KV cache + activations)
    args = _args("--tokens", "4", "200000", "8", "--engines", "grouped", "loop", "--memory-budget-gb", "0.06")
    measure.measure_model(spec, args, run.ceilings, run, deadline=time.monotonic() + 60, log=lambda s: None)
    done = {(p.engine, p.n_tokens) for p in run.points}
    assert done == {("grouped", 4), ("grouped", 8), ("loop", 4), ("loop", 8)}
    assert [(f.engine, f.n_tokens) for f in run.failed] == [("grouped", 200000), ("loop", 200000)]
    assert all(f.reason.startswith("out of memory") for f in run.failed)
    p = run.points[0]
    assert p.bytes_moved > 0 and p.unique_experts_mean > 0 and len(p.timing) == 2 and p.stack == "full"
    assert p.h100_projected_ms == pytest.approx(p.step_ms * 4.8 / 3.35)


def test_guarded_turns_torch_oom_into_failed_point():
    def boom():
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")
    pts, fails = guarded(boom, "step", "llama2_70b", "none", 4096, "dense")
    assert pts == [] and fails[0].reason.startswith("out of memory: CUDA out of memory")


def test_model_that_does_not_fit_runs_per_layer_and_validates():
    spec = tiny_spec("llama2_70b")
    run = _run()
    args = _args("--tokens", "1", "4", "--stack", "per_layer_x_L")
    measure.measure_model(spec, args, run.ceilings, run, deadline=time.monotonic() + 60, log=lambda s: None)
    kinds = sorted((p.kind, p.n_tokens, p.stack) for p in run.points)
    assert kinds == [("decode", 1, "per_layer_x_L"), ("step", 1, "per_layer_x_L"), ("step", 4, "per_layer_x_L")]
    moe = tiny_spec()
    args = _args("--tokens", "4", "--validate-per-layer", moe.name, "--validate-tokens", "4")
    measure.measure_model(moe, args, run.ceilings, run, deadline=time.monotonic() + 60, log=lambda s: None)
    check = run.checks[-1]
    # CPU timing is noisy, so only the bookkeeping is checked here; the GPU run checks the ratio (results/h200)
    assert check["model"] == moe.name and check["ratio"] == pytest.approx(check["per_layer_x_L_ms"] / check["full_ms"])


def test_time_budget_marks_remaining_points_skipped():
    spec = tiny_spec()
    run = _run()
    measure.measure_model(spec, _args("--tokens", "4", "8"), run.ceilings, run, deadline=time.monotonic() - 1,
                          log=lambda s: None)
    assert run.points == [] and all("time-budget" in f.reason for f in run.failed)


@pytest.mark.gpu
@needs_cuda
def test_gpu_full_step_graph_timing():
    spec = tiny_spec(hidden=256, num_heads=8, num_kv_heads=2, head_dim=32, expert_inter=128, num_experts=64)
    stack = DiffusionStack(spec, layer_kinds_of(spec), True, prefix_len=64, device="cuda")
    stack.set_engine("grouped_triton")
    routing = measure.sample_routing(spec, "calibrated", 32, 2, 0)
    a, b, tele, graph = time_stack(stack, routing, 32, TimingConfig(reps=20, rotations=2))
    assert graph and a.reps == 20 and a.median_ms > 0 and tele.get("status") == "ok"  # NVML answers on a GPU host


def test_unknown_engine_or_routing_stops_before_anything_is_measured(capsys):
    for bad in (["--engines", "grouped_trition"], ["--routing", "calibratd"]):
        with pytest.raises(SystemExit):
            _args(*bad)
        assert "invalid choice" in capsys.readouterr().err


def test_an_unexpected_error_keeps_the_points_already_measured(tmp_path, monkeypatch):
    # A model measures some points, then raises an error no point guard expects: those points must reach the JSON.
    from tasks.gpu.results import load_results
    real = measure.measure_model

    def flaky(spec, args, *rest, **kw):
        real(tiny_spec(spec.name), args, *rest, **kw)
        raise ValueError("something no point guard catches")

    monkeypatch.setattr(measure, "measure_model", flaky)
    out = tmp_path / "run.json"
    with pytest.raises(ValueError):
        measure.main(["--out", str(out), "--device", "cpu", "--reps", "3", "--rotations", "2", "--tokens", "4",
                      "--models", "llada2_mini", "--engines", "grouped"])
    assert {(p.model, p.n_tokens) for p in load_results(out).points} == {("llada2_mini", 4)}


def test_a_git_sha_that_is_not_hex_is_recorded_as_unknown():
    from tasks.gpu.results import git_sha
    assert git_sha("HEAD\nunknown") == "unknown"
    assert git_sha("1f0a0e9c5bef2d67b4284c9e8a93e9085999769a") == "1f0a0e9c5bef2d67b4284c9e8a93e9085999769a"
