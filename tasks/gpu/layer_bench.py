"""One MoE FFN layer at a model's real dimensions, per engine: time, unique experts, fraction of HBM roofline.

    fraction of roofline = (unique experts x bytes per expert / layer time) / measured copy bandwidth
The layer is the routed experts only (no router, no shared expert), fed routing sampled from tasks.moe for
every MoE layer and step and rotated through the one set of weights, so unique experts are the real ones.
"""
from __future__ import annotations

import gc

import numpy as np
import torch

from tasks.gpu.engines import MoEWeights, make_engine, reference_moe, relative_error
from tasks.gpu.points import TimingConfig, derive, guarded, time_twice
from tasks.gpu.results import Ceilings, MeasurementRun, PointResult
from tasks.moe.stats import unique_counts

EQUIVALENCE_TOL = 2e-2  # ||out - ref|| / ||ref|| vs the float32 reference; bf16 operands land at 1e-3..1e-2


def layer_samples(routing: np.ndarray, max_samples: int = 16) -> np.ndarray:
    """(S, L, N, k) routing -> up to max_samples (N, k) layer routings spread over steps and layers."""
    flat = routing.reshape(-1, *routing.shape[2:])
    pick = np.linspace(0, flat.shape[0] - 1, min(flat.shape[0], max_samples)).astype(int)
    return flat[pick]


def _layer_inputs(weights: MoEWeights, samples: np.ndarray, seed: int):
    dev, dt = weights.w_gate_up.device, weights.w_gate_up.dtype
    r, n, k = samples.shape
    g = torch.Generator(device="cpu").manual_seed(seed)
    xs = torch.randn(r, n, weights.hidden, generator=g).to(dev, dt)
    ws = torch.softmax(torch.randn(r, n, k, generator=g), -1).to(dev)
    ids = torch.from_numpy(np.ascontiguousarray(samples)).to(dev)
    static = {"x": xs[0].clone(), "ids": ids[0].clone(), "w": ws[0].clone()}

    def load(i: int) -> None:
        static["x"].copy_(xs[i])
        static["ids"].copy_(ids[i])
        static["w"].copy_(ws[i])
    return xs, ids, ws, static, load


def equivalence_check(engine, weights: MoEWeights, samples: np.ndarray, seed: int = 123) -> dict:
    """Relative error of the engine against the float32 reference on fresh random inputs (one sample)."""
    xs, ids, ws, _, _ = _layer_inputs(weights, samples[:1], seed)
    with torch.inference_mode():
        out = engine(xs[0], ids[0], ws[0])
        ref = reference_moe(weights, xs[0], ids[0], ws[0])
    err = relative_error(out, ref)
    return {"check": "engine vs float32 reference", "engine": engine.name, "n_tokens": int(samples.shape[1]),
            "rel_error": err, "tol": EQUIVALENCE_TOL, "passed": bool(err <= EQUIVALENCE_TOL)}


def measure_layer_point(spec, engine_name: str, weights: MoEWeights, routing: np.ndarray, routing_name: str,
                        cfg: TimingConfig, ceilings: Ceilings, check: bool = False, checks: list | None = None,
                        **engine_options) -> list[PointResult]:
    """Time one engine on one MoE layer for N = routing.shape[2] tokens."""
    samples = layer_samples(routing)
    n = samples.shape[1]
    engine = make_engine(engine_name, weights, spec.top_k, **engine_options)
    if check and checks is not None:
        checks.append({"model": spec.name, **equivalence_check(engine, weights, samples)})
    _, _, _, static, load = _layer_inputs(weights, samples, seed=n)
    device = weights.w_gate_up.device.type
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    run = lambda i: engine(static["x"], static["ids"], static["w"])  # noqa: E731
    graph = device == "cuda" and engine.graph_safe
    with torch.inference_mode():
        a, b, tele = time_twice(run, load, samples.shape[0], cfg, graph, device)
    u, _ = unique_counts(samples[:, None], spec.num_experts)
    u = u.astype(float).ravel()
    expert_bytes = u.mean() * weights.bytes_per_expert()
    io_bytes = 2 * n * weights.hidden * weights.w_gate_up.element_size()
    p = PointResult(kind="moe_layer", model=spec.name, routing=routing_name, n_tokens=n, engine=engine_name,
                    step_ms=a.median_ms, p90_ms=a.p90_ms, spread=abs(a.median_ms - b.median_ms) / a.median_ms,
                    timing=[a.to_dict(), b.to_dict()], stack="layer", unique_experts_mean=float(u.mean()),
                    unique_experts_p90=float(np.percentile(u, 90)), bytes_moved=float(expert_bytes),
                    bytes_breakdown={"routed_expert": float(expert_bytes), "hidden_in_out": float(io_bytes)},
                    byte_model="unique experts x bytes_per_expert (tasks.moe ModelSpec)",
                    flops=float(2 * n * spec.top_k * 3 * weights.hidden * weights.inter), telemetry=tele,
                    engine_info={**engine.info(), "cuda_graph": graph},
                    peak_memory_bytes=int(torch.cuda.max_memory_allocated()) if device == "cuda" else 0)
    del engine
    return [derive(p, ceilings)]


def run_layer_bench(specs, tokens, engines, routing_name: str, router_factory, cfg: TimingConfig, ceilings: Ceilings,
                    run: MeasurementRun, device: str = "cuda", check_tokens=(64,), log=print,
                    engine_options: dict | None = None) -> None:
    """Every (model, N, engine) layer point into run.points (failures into run.failed)."""
    engine_options = engine_options or {}
    for spec in specs:
        weights = MoEWeights.random(spec.num_experts, spec.hidden, spec.expert_inter, device=device, seed=7)
        for n in tokens:
            routing = router_factory(spec).route(n, 4, 1000 + n)
            for engine in engines:
                pts, fails = guarded(
                    lambda: measure_layer_point(spec, engine, weights, routing, routing_name, cfg, ceilings,
                                                check=n in check_tokens, checks=run.checks,
                                                **engine_options.get(engine, {})),
                    "moe_layer", spec.name, routing_name, n, engine)
                run.points += pts
                run.failed += fails
                for p in pts:
                    log(f"[{spec.name}] layer N={n:4d} {engine:14s} {p.step_ms:8.3f} ms  uniq "
                        f"{p.unique_experts_mean:6.1f}  {p.util_copy:6.1%} of copy roofline  spread {p.spread:.1%}")
                for f in fails:
                    log(f"[{spec.name}] layer N={n} {engine}: FAILED {f.reason}")
        del weights
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()


def layer_table(run: MeasurementRun, engines) -> str:
    """Plain-text table: rows (model, N), per engine 'ms (% roofline)'."""
    pts = [p for p in run.points if p.kind == "moe_layer"]
    keys = sorted({(p.model, p.n_tokens) for p in pts}, key=lambda t: (t[0], t[1]))
    head = f"{'model':14s} {'N':>4s} {'uniq':>6s} {'expertGB':>8s} " + " ".join(f"{e:>20s}" for e in engines)
    lines = ["MoE layer time (ms) and fraction of measured-copy HBM roofline for unique-expert bytes", head,
             "-" * len(head)]
    for model, n in keys:
        row = {p.engine: p for p in pts if p.model == model and p.n_tokens == n}
        any_p = next(iter(row.values()))
        cells = []
        for e in engines:
            p = row.get(e)
            failed = next((f for f in run.failed if f.kind == "moe_layer" and f.model == model and f.n_tokens == n
                           and f.engine == e), None)
            cells.append(f"{p.step_ms:9.3f} ({p.util_copy:5.1%})" if p else ("failed" if failed else "-"))
        lines.append(f"{model:14s} {n:4d} {any_p.unique_experts_mean:6.1f} {any_p.bytes_moved / 1e9:8.3f} "
                     + " ".join(f"{c:>20s}" for c in cells))
    c = run.ceilings
    lines.append(f"roofline = unique experts x bytes/expert / layer time / measured copy bandwidth "
                 f"{c.copy_bandwidth_bytes_s / 1e12:.2f} TB/s (read+write)")
    return "\n".join(lines)
