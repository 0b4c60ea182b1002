"""Measure one point (a full step, a per-layer-scaled step, or one MoE layer) into a PointResult.

Every point is timed twice (same variant) to report its spread; bytes and FLOPs come from the tasks.moe
byte model (tasks/moe/step_model.py) evaluated on the exact routing that was run.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from tasks.gpu.harness import DiffusionStack
from tasks.gpu.results import Ceilings, FailedPoint, PointResult
from tasks.gpu.timing import TimingStats, nvml_snapshot, time_cpu, time_cuda
from tasks.moe.stats import unique_counts
from tasks.moe.step_model import StepSetup, load_decoding_setup, step_cost

H100_DATASHEET_BW = 3.35e12  # conf/hardware/h100_sxm.yaml
H200_DATASHEET_BW = 4.8e12  # conf/hardware/h200.yaml
OOM_ERRORS = (torch.OutOfMemoryError,)


@dataclass
class TimingConfig:
    """How each point is timed."""

    reps: int = 20
    warmup: int = 2
    rotations: int = 4  # distinct input sets (routing samples, token ids) cycled through


def unique_experts(routing: np.ndarray, num_experts: int) -> tuple[list[float], float, float]:
    """Per-MoE-layer mean unique experts, overall mean and p90 (over steps x layers) of (S, L, N, k) ids."""
    if routing.size == 0:
        return [], 0.0, 0.0
    counts, _ = unique_counts(routing, num_experts)  # (S, L)
    counts = counts.astype(float)
    return counts.mean(0).tolist(), float(counts.mean()), float(np.percentile(counts, 90))


def time_twice(run: Callable[[int], object], load: Callable[[int], None], n_inputs: int, cfg: TimingConfig,
               use_graph: bool, device: str) -> tuple[TimingStats, TimingStats, dict]:
    """Time the same variant twice; returns both stats and an NVML snapshot taken under load."""
    tele: dict = {}
    if device == "cpu":
        def both(i):
            load(i)
            run(i)
        a = time_cpu(both, n_inputs, reps=cfg.reps, warmup=1)
        b = time_cpu(both, n_inputs, reps=cfg.reps, warmup=0)
        return a, b, {"status": "no telemetry: cpu run"}
    a = time_cuda(run, n_inputs, cfg.reps, cfg.warmup, use_graph, load)
    b = time_cuda(run, n_inputs, cfg.reps, 1, use_graph, load, on_loaded=lambda: tele.update(nvml_snapshot()))
    return a, b, tele


def derive(point: PointResult, ceilings: Ceilings) -> PointResult:
    """Fill achieved bandwidth, utilisations, roofline and the H100 projection from bytes, flops and time."""
    t = point.step_ms * 1e-3
    if t > 0 and point.bytes_moved > 0:
        point.achieved_bandwidth_bytes_s = point.bytes_moved / t
        point.util_copy = point.achieved_bandwidth_bytes_s / ceilings.copy_bandwidth_bytes_s
        point.util_datasheet = point.achieved_bandwidth_bytes_s / ceilings.datasheet_bandwidth_bytes_s
        point.roofline_ms = 1e3 * max(point.bytes_moved / ceilings.copy_bandwidth_bytes_s,
                                      point.flops / ceilings.bf16_gemm_flops)
        point.roofline_ratio = point.roofline_ms / point.step_ms
    point.h100_projected_ms = point.step_ms * H200_DATASHEET_BW / H100_DATASHEET_BW
    return point


def step_bytes(spec, n_tokens: int, prefix_len: int, per_layer_unique: list[float]):
    """StepCost of the tasks.moe byte model for this step (dense models: no routed experts)."""
    decoding = load_decoding_setup(spec.decoding if spec.family == "moe" else "llada2_block32_t095")
    tpf = decoding.tokens_per_forward or 1.0
    setup = StepSetup(block_len=n_tokens, prefix_len=prefix_len, tokens_committed_per_step=min(float(n_tokens), tpf),
                      kv_cache=True)
    return step_cost(spec, setup, per_layer_unique if spec.family == "moe" else 0.0)


def _inputs(stack: DiffusionStack, routing: np.ndarray | None, n: int, rotations: int, seed: int):
    """Device input sets and a loader that copies set i into the static buffers the step reads."""
    dev = stack.device
    g = torch.Generator(device="cpu").manual_seed(seed)
    tok = torch.randint(0, stack.spec.vocab, (rotations, n), generator=g).to(dev)
    xs = torch.randn(rotations, n, stack.spec.hidden, generator=g).to(dev, stack.dtype)
    rt = None if routing is None else torch.from_numpy(np.ascontiguousarray(routing)).to(dev)
    static = {"tok": tok[0].clone(), "x": xs[0].clone(), "rt": None if rt is None else rt[0].clone()}

    def load(i: int) -> None:
        static["tok"].copy_(tok[i])
        static["x"].copy_(xs[i])
        if rt is not None:
            static["rt"].copy_(rt[i % rt.shape[0]])
    return static, load


def time_stack(stack: DiffusionStack, routing: np.ndarray | None, n: int, cfg: TimingConfig, seed: int = 0):
    """Time stack.forward for N tokens; routing (R, L_built, N, k) is rotated with the token ids."""
    stack.prepare(n)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    rotations = cfg.rotations if routing is None else routing.shape[0]
    static, load = _inputs(stack, routing, n, rotations, seed)
    graph_ok = stack.device != "cpu" and all(e is None or e.graph_safe for e in stack.engines)
    run = lambda i: stack.forward(static["tok"], static["rt"], x=static["x"])  # noqa: E731
    with torch.inference_mode():
        return time_twice(run, load, rotations, cfg, graph_ok, stack.device) + (graph_ok,)


def point_from_timing(kind: str, spec, routing_name: str, n: int, engine: str, stack_mode: str, a: TimingStats,
                      b: TimingStats, tele: dict, ceilings: Ceilings, prefix_len: int,
                      per_layer_unique: list[float], u_mean, u_p90, engine_info: dict, notes: str = "") -> PointResult:
    """Assemble a step/decode PointResult with the byte model and derived metrics."""
    cost = step_bytes(spec, n, prefix_len, per_layer_unique)
    p = PointResult(kind=kind, model=spec.name, routing=routing_name, n_tokens=n, engine=engine, step_ms=a.median_ms,
                    p90_ms=a.p90_ms, spread=abs(a.median_ms - b.median_ms) / a.median_ms,
                    timing=[a.to_dict(), b.to_dict()], stack=stack_mode, prefix_len=prefix_len,
                    unique_experts_mean=u_mean, unique_experts_p90=u_p90, bytes_moved=cost.total_bytes,
                    bytes_breakdown=cost.bytes_breakdown(), byte_model="tasks.moe.step_model.step_cost",
                    flops=cost.total_flops, telemetry=tele, engine_info=engine_info,
                    peak_memory_bytes=int(torch.cuda.max_memory_allocated()) if torch.cuda.is_available() else 0,
                    notes=notes)
    return derive(p, ceilings)


def guarded(fn: Callable[[], list[PointResult]], kind: str, model: str, routing: str, n: int,
            engine: str) -> tuple[list[PointResult], list[FailedPoint]]:
    """Run one point; out-of-memory (or a build failure) becomes a FailedPoint and the sweep goes on."""
    try:
        return fn(), []
    except OOM_ERRORS as exc:
        reason = f"out of memory: {str(exc).splitlines()[0][:300]}"
    except Exception as exc:  # noqa: BLE001 - a kernel build/launch failure (Triton's own types) fails one point
        if "out of memory" not in str(exc).lower():
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        else:
            reason = f"out of memory: {str(exc).splitlines()[0][:300]}"
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return [], [FailedPoint(kind=kind, model=model, routing=routing, n_tokens=n, engine=engine, reason=reason)]
