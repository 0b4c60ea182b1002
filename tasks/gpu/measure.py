"""CLI: measure diffusion steps of MoE and dense models on the present GPU and write results JSON.

    python -m tasks.gpu.measure --models llada2_mini llada_moe_7b llama2_70b \\
        --tokens 1 8 16 32 64 128 256 --engines grouped deepspeed loop --routing calibrated \\
        --out results/h200/<date>.json

Ceilings are measured first in the same process. Each model runs as a full stack when it fits in device
memory, else as one layer of each kind plus the head, scaled by the layer counts ('per_layer_x_L').
Dense models ignore --engines (one 'dense' pass) and add a batch-1 autoregressive decode point.
"""
from __future__ import annotations

import argparse
import gc
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from tasks.gpu.engines import ENGINE_NAMES
from tasks.gpu.harness import DiffusionStack, kv_cache_bytes, layer_kinds_of, stack_weight_bytes
from tasks.gpu.points import TimingConfig, guarded, point_from_timing, time_stack, unique_experts
from tasks.gpu.results import Ceilings, FailedPoint, MeasurementRun, collect_provenance, save_results
from tasks.gpu.timing import TimingStats, measure_copy_bandwidth, measure_gemm_flops
from tasks.moe.hardware import load_hardware
from tasks.moe.routing import ROUTING_KINDS, make_router
from tasks.moe.specs import load_model_spec

EAGER_ENGINES = ("loop", "deepspeed")  # host-synchronising engines: timed without CUDA graphs


def measure_ceilings(device: str) -> Ceilings:
    """Copy bandwidth and bf16 GEMM rate of the device (datasheet values from conf/hardware/h200.yaml beside)."""
    ds = load_hardware("h200")
    if device == "cpu":
        return Ceilings(copy_bandwidth_bytes_s=50e9, bf16_gemm_flops=1e12, datasheet_bandwidth_bytes_s=50e9,
                        datasheet_bf16_flops=1e12, details={"note": "nominal CPU values, not measured"})
    copy = measure_copy_bandwidth()
    gemm = measure_gemm_flops()
    total = torch.cuda.get_device_properties(0).total_memory
    return Ceilings(copy_bandwidth_bytes_s=copy.pop("copy_bandwidth_bytes_s"),
                    bf16_gemm_flops=gemm.pop("bf16_gemm_flops"),
                    datasheet_bandwidth_bytes_s=ds.hbm_bandwidth_bytes_s, datasheet_bf16_flops=ds.bf16_flops,
                    memory_bytes=float(total), details={**copy, **gemm, "datasheet": ds.source})


def remeasure_copy_ceiling(run: MeasurementRun, device: str) -> None:
    """Measure the copy ceiling again after the sweep; keep the higher one (conservative utilisations) and
    re-derive every point's utilisation/roofline from its bytes and time."""
    if device == "cpu":
        return
    from tasks.gpu.points import derive
    again = measure_copy_bandwidth()
    c = run.ceilings
    c.details["copy_bandwidth_start_bytes_s"] = c.copy_bandwidth_bytes_s
    c.details["copy_bandwidth_end_bytes_s"] = again["copy_bandwidth_bytes_s"]
    c.details["copy_ceiling_rule"] = "max of the copy bandwidth measured before and after the points"
    c.copy_bandwidth_bytes_s = max(c.copy_bandwidth_bytes_s, again["copy_bandwidth_bytes_s"])
    for p in run.points:
        derive(p, c)


def sample_routing(spec, routing: str, n: int, rotations: int, seed: int) -> np.ndarray | None:
    """(rotations, n_moe_layers, N, k) expert ids from the tasks.moe router, or None for dense models."""
    if spec.family != "moe":
        return None
    return make_router(routing, spec).route(n, rotations, seed)


def _sum_stats(parts: list[tuple[TimingStats, int]]) -> TimingStats:
    """Step estimate from per-layer timings: sum of count x median (and x p90, x mean, x min)."""
    f = lambda attr: sum(getattr(s, attr) * c for s, c in parts)  # noqa: E731
    return TimingStats(f("median_ms"), f("p90_ms"), f("mean_ms"), f("min_ms"), min(s.reps for s, _ in parts),
                       all(s.graph for s, _ in parts), max(s.rotated_inputs for s, _ in parts))


class PerLayerStacks:
    """Head (embedding + final norm + lm_head), one MoE layer and one dense layer, timed and scaled by counts."""

    def __init__(self, spec, prefix_len: int, device: str, budget: int | None):
        kinds = layer_kinds_of(spec)
        self.counts = {k: kinds.count(k) for k in ("moe", "dense") if kinds.count(k)}
        self.head = DiffusionStack(spec, [], True, prefix_len, device, memory_budget_bytes=budget)
        self.layer = {k: DiffusionStack(spec, [k], False, prefix_len, device, seed=1 + i, memory_budget_bytes=budget)
                      for i, k in enumerate(self.counts)}
        self.spec = spec

    @property
    def engines(self):
        return [e for s in self.layer.values() for e in s.engines]

    def set_engine(self, name: str) -> None:
        if "moe" in self.layer:
            self.layer["moe"].set_engine(name)

    def engine_info(self) -> dict:
        return self.layer["moe"].engine_info() if "moe" in self.layer else {"engine": "dense"}

    def time(self, routing: np.ndarray | None, n: int, cfg: TimingConfig):
        results = {"head": time_stack(self.head, None, n, cfg)}
        for kind, st in self.layer.items():
            r = None
            if kind == "moe":  # every (step, layer) routing sample of the model, rotated through the one layer
                flat = routing.reshape(-1, 1, *routing.shape[2:])
                pick = np.linspace(0, flat.shape[0] - 1, min(flat.shape[0], 16)).astype(int)
                r = flat[pick]
            results[kind] = time_stack(st, r, n, cfg)
        runs = []
        for which in (0, 1):
            runs.append(_sum_stats([(results["head"][which], 1)]
                                   + [(results[k][which], c) for k, c in self.counts.items()]))
        return runs[0], runs[1], results[next(iter(self.counts))][2], all(v[3] for v in results.values())

    def free(self) -> None:
        self.head.free()
        for s in self.layer.values():
            s.free()


CPU_MARGIN_BYTES = 1 << 30  # activations, allocator slack and the interpreter, on top of weights and KV cache


def cpu_free_bytes() -> int:
    """Memory this process may still allocate on the host: MemAvailable, capped by an address-space limit (ulimit -v)."""
    import resource

    free = 0
    try:
        meminfo = Path("/proc/meminfo").read_text()
        free = next(int(line.split()[1]) * 1024 for line in meminfo.splitlines() if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            used = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            used = 0
        free = min(free, max(soft - used, 0))
    return free


def stack_need_bytes(spec, mode: str, prefix_len: int, max_n: int) -> int:
    """Estimated bytes of weights plus KV cache of a full stack, or of the head plus one layer of each kind."""
    kinds = layer_kinds_of(spec) if mode == "full" else sorted(set(layer_kinds_of(spec)))
    return stack_weight_bytes(spec, kinds, True) + kv_cache_bytes(spec, len(kinds), prefix_len, min(max_n, 256))


def fits_full(spec, prefix_len: int, max_n: int, device: str, budget: int | None) -> bool:
    """Whether all layers, the head, the KV cache and a margin fit in free device memory (or the budget)."""
    # Weights plus the KV cache of a typical step; a point whose N does not fit fails alone (out of memory).
    need = stack_need_bytes(spec, "full", prefix_len, max_n)
    if budget is not None:
        return need <= budget
    if device == "cpu":
        return need + CPU_MARGIN_BYTES < cpu_free_bytes()
    free, _ = torch.cuda.mem_get_info()
    return need + (4 << 30) < free


def refuse_cpu_if_too_big(spec, mode: str, prefix_len: int, max_n: int) -> None:
    """On the CPU, refuse before allocating when even the chosen stack does not fit in host memory."""
    need = stack_need_bytes(spec, mode, prefix_len, max_n) + CPU_MARGIN_BYTES
    free = cpu_free_bytes()
    if need > free:
        raise SystemExit(f"{spec.name} needs about {need / 1e9:.1f} GB on the CPU ({mode}, estimated before allocating) "
                         f"but only {free / 1e9:.1f} GB may be allocated; pick a smaller model, lower --prefix-len, "
                         "or run on a CUDA GPU")


def measure_model(spec, args, ceilings: Ceilings, run: MeasurementRun, deadline: float, log=print) -> None:
    """All points of one model; failures become FailedPoints."""
    budget = int(args.memory_budget_gb * 1e9) if args.memory_budget_gb else None
    cfg = TimingConfig(reps=args.reps, rotations=args.rotations)
    mode = args.stack
    if mode == "auto":
        mode = "full" if fits_full(spec, args.prefix_len, max(args.tokens), args.device, budget) else "per_layer_x_L"
    if args.device == "cpu" and budget is None:
        refuse_cpu_if_too_big(spec, mode, args.prefix_len, max(args.tokens))
    try:
        stack = (DiffusionStack(spec, layer_kinds_of(spec), True, args.prefix_len, args.device,
                                memory_budget_bytes=budget) if mode == "full"
                 else PerLayerStacks(spec, args.prefix_len, args.device, budget))
    except torch.OutOfMemoryError as exc:
        if mode != "full":
            raise
        log(f"[{spec.name}] full stack did not fit ({str(exc).splitlines()[0][:120]}); using per_layer_x_L")
        gc.collect()
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
        mode = "per_layer_x_L"
        stack = PerLayerStacks(spec, args.prefix_len, args.device, budget)
    if args.unfused:  # the plain torch step around the same kernels (A/B against the fused default)
        for st in ([stack] if mode == "full" else [stack.head, *stack.layer.values()]):
            st.fused = False
    log(f"[{spec.name}] stack={mode}{' (unfused)' if args.unfused else ''}")
    engines = args.engines if spec.family == "moe" else ["dense"]
    routing_name = args.routing if spec.family == "moe" else "none"
    for engine in engines:
        if engine != "dense":
            _, fail = guarded(lambda: [stack.set_engine(engine)], "step", spec.name, routing_name, 0, engine)
            if fail:
                run.failed.append(fail[0])
                log(f"[{spec.name}] engine {engine} unavailable: {fail[0].reason}")
                continue
        kinds = [("step", n) for n in args.tokens] + ([("decode", 1)] if spec.family == "dense" else [])
        for kind, n in kinds:
            if time.monotonic() > deadline:
                run.failed.append(FailedPoint(kind, spec.name, routing_name, n, engine, "skipped: --time-budget-s spent"))
                continue
            if engine in EAGER_ENGINES and args.eager_tokens and n not in args.eager_tokens:
                continue
            routing = sample_routing(spec, args.routing, n, args.rotations, args.seed + n)

            def one_point(kind=kind, n=n, routing=routing):
                if mode == "full":
                    a, b, tele, graph = time_stack(stack, routing, n, cfg)
                else:
                    a, b, tele, graph = stack.time(routing, n, cfg)
                per_layer, u_mean, u_p90 = (unique_experts(routing, spec.num_experts) if routing is not None
                                            else ([], None, None))
                note = "batch-1 autoregressive decode: 1 new token over the prefix KV cache" if kind == "decode" else ""
                if mode != "full":
                    note = (note + "; " if note else "") + "per-layer timings x layer counts + head"
                return [point_from_timing(kind, spec, routing_name, n, engine, mode, a, b, tele, ceilings,
                                          args.prefix_len, per_layer, u_mean, u_p90,
                                          {**stack.engine_info(), "cuda_graph": graph}, note)]
            pts, fails = guarded(one_point, kind, spec.name, routing_name, n, engine)
            run.points += pts
            run.failed += fails
            for p in pts:
                log(f"[{spec.name}] {kind} N={n:4d} {engine:14s} {p.step_ms:9.3f} ms  util {p.util_copy:5.1%}  "
                    f"uniq {p.unique_experts_mean or 0:6.1f}  spread {p.spread:.1%}")
            for f in fails:
                log(f"[{spec.name}] {kind} N={n} {engine}: FAILED {f.reason}")
        if spec.name in (args.validate_per_layer or []) and mode == "full" and engine == engines[0]:
            validate_per_layer(spec, stack, engine, args, cfg, run, log)
    stack.free()
    del stack
    gc.collect()
    torch.cuda.empty_cache() if torch.cuda.is_available() else None


def validate_per_layer(spec, full: DiffusionStack, engine: str, args, cfg, run: MeasurementRun, log) -> None:
    """Check the per_layer_x_L estimate against the full stack at the validation N values."""
    budget = int(args.memory_budget_gb * 1e9) if args.memory_budget_gb else None
    per = PerLayerStacks(spec, args.prefix_len, args.device, budget)
    per.set_engine(engine)
    for n in args.validate_tokens:
        routing = sample_routing(spec, args.routing, n, args.rotations, args.seed + n)
        a_full, _, _, _ = time_stack(full, routing, n, cfg)
        a_per, _, _, _ = per.time(routing, n, cfg)
        check = {"check": "per_layer_x_L vs full stack", "model": spec.name, "engine": engine, "n_tokens": n,
                 "full_ms": a_full.median_ms, "per_layer_x_L_ms": a_per.median_ms,
                 "ratio": a_per.median_ms / a_full.median_ms}
        run.checks.append(check)
        log(f"[{spec.name}] validation N={n}: full {a_full.median_ms:.3f} ms vs per-layer x L "
            f"{a_per.median_ms:.3f} ms (ratio {check['ratio']:.3f})")
    per.free()


def format_table(run: MeasurementRun) -> str:
    """Plain-text table of the step/decode points."""
    head = (f"{'model':14s} {'kind':6s} {'N':>4s} {'engine':14s} {'stack':13s} {'uniq':>6s} {'ms':>9s} {'p90':>9s} "
            f"{'GB':>7s} {'TB/s':>6s} {'%copy':>6s} {'%sheet':>6s} {'roofl':>6s} {'H100*ms':>8s}")
    lines = [head, "-" * len(head)]
    for p in run.points:
        if p.kind == "moe_layer":
            continue
        lines.append(f"{p.model:14s} {p.kind:6s} {p.n_tokens:4d} {p.engine:14s} {p.stack:13s} "
                     f"{(p.unique_experts_mean or 0):6.1f} {p.step_ms:9.3f} {p.p90_ms:9.3f} {p.bytes_moved / 1e9:7.2f} "
                     f"{p.achieved_bandwidth_bytes_s / 1e12:6.2f} {p.util_copy:6.1%} {p.util_datasheet:6.1%} "
                     f"{p.roofline_ratio:6.1%} {p.h100_projected_ms or 0:8.3f}")
    for f in run.failed:
        lines.append(f"FAILED {f.model} {f.kind} N={f.n_tokens} {f.engine}: {f.reason}")
    c = run.ceilings
    lines.append(f"ceilings: copy {c.copy_bandwidth_bytes_s / 1e12:.2f} TB/s (read+write), bf16 GEMM "
                 f"{c.bf16_gemm_flops / 1e12:.0f} TFLOP/s; datasheet {c.datasheet_bandwidth_bytes_s / 1e12:.2f} TB/s. "
                 "H100*ms = projection (x 4.8/3.35), not measured.")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m tasks.gpu.measure", description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["llada2_mini", "llada_moe_7b", "llama2_70b"])
    ap.add_argument("--tokens", nargs="+", type=int, default=[1, 8, 16, 32, 64, 128, 256])
    ap.add_argument("--engines", nargs="+", default=["grouped"], choices=list(ENGINE_NAMES) + ["dense"])
    ap.add_argument("--routing", default="calibrated", choices=list(ROUTING_KINDS))
    ap.add_argument("--prefix-len", type=int, default=512)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rotations", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stack", choices=["auto", "full", "per_layer_x_L"], default="auto",
                    help="per_layer_x_L: time one layer of each kind and multiply by the layer counts")
    ap.add_argument("--eager-tokens", nargs="*", type=int, default=None,
                    help="N values at which loop/deepspeed (no CUDA graph) are timed; default: all")
    ap.add_argument("--validate-per-layer", nargs="*", default=[], help="models whose per-layer estimate is checked")
    ap.add_argument("--validate-tokens", nargs="+", type=int, default=[64])
    ap.add_argument("--unfused", action="store_true",
                    help="time the plain torch step (no fused RoPE/KV write, routing plan, shared-expert fold)")
    ap.add_argument("--memory-budget-gb", type=float, default=None, help="fake memory budget (tests)")
    ap.add_argument("--time-budget-s", type=float, default=1e9)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                    help="cpu: only for models whose size (estimated before allocating) fits in host memory")
    ap.add_argument("--git-sha", default=None)
    ap.add_argument("--out", required=True)
    return ap


def main(argv: list[str] | None = None) -> MeasurementRun:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if min(args.tokens) <= 0:
        raise SystemExit(f"--tokens must be positive, got {args.tokens}")
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU is visible, and this CLI measures GPU kernels; run it on a GPU machine, or pass "
                         "--device cpu to try a model whose size fits in host memory (it is checked before allocating)")
    deadline = time.monotonic() + args.time_budget_s
    specs = [load_model_spec(m) for m in args.models]
    command = "python -m tasks.gpu.measure " + shlex.join(argv)
    run = MeasurementRun(provenance=collect_provenance(command, args.git_sha), ceilings=measure_ceilings(args.device))
    print(f"ceilings: copy {run.ceilings.copy_bandwidth_bytes_s / 1e12:.3f} TB/s, "
          f"bf16 {run.ceilings.bf16_gemm_flops / 1e12:.0f} TFLOP/s", flush=True)
    try:
        for spec in specs:
            measure_model(spec, args, run.ceilings, run, deadline, log=lambda s: print(s, flush=True))
            save_results(run, args.out)  # partial results survive a later failure
        remeasure_copy_ceiling(run, args.device)
    finally:  # any error (even one no point guard expected) keeps the points already measured
        save_results(run, args.out)
    print(format_table(run))
    print(f"wrote {Path(args.out)}")
    return run


if __name__ == "__main__":
    main()
