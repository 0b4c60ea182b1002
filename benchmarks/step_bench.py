"""The MoE layer and the full diffusion step, every engine, with both references, as ONE table from one GPU run.

    python benchmarks/step_bench.py --out results/h200/step_bench.json --table results/h200/step_bench.txt

Per model and N: the MoE layer (routed experts, tasks/gpu/layer_bench.py) and the full step (all layers,
tasks/gpu/harness.py) for each engine, as ms and % of the measured-copy roofline for the bytes the byte model
counts; beside them the two references measured in the same process: the read-only HBM bandwidth (a large
reduction) and a same-bytes cuBLAS baseline (the activated experts' weights pre-gathered contiguously, two plain
GEMMs). `grouped_triton` is timed with the fused step (default) and as `grouped_triton+unfused` (the plain torch
step around the same kernels: the 'before'); other '+option' variants pin the SDPA backend or the router path.
With --profile-tokens, torch.profiler's top kernels of one step.
"""
from __future__ import annotations

import argparse
import gc
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from tasks.gpu.harness import DiffusionStack, layer_kinds_of  # noqa: E402
from tasks.gpu.layer_bench import run_layer_bench  # noqa: E402
from tasks.gpu.measure import EAGER_ENGINES, measure_ceilings, remeasure_copy_ceiling, sample_routing  # noqa: E402
from tasks.gpu.points import TimingConfig, guarded, point_from_timing, time_stack, unique_experts  # noqa: E402
from tasks.gpu.references import cublas_same_bytes, format_profile, measure_read_bandwidth, profile_step  # noqa: E402
from tasks.gpu.results import MeasurementRun, collect_provenance, save_results  # noqa: E402
from tasks.moe.routing import make_router  # noqa: E402
from tasks.moe.specs import load_model_spec  # noqa: E402

PROFILED = ("grouped_triton", "grouped_triton+unfused")  # the 'after' and the 'before'
OPTIONS = ("unfused", "normrouter", "epilogue", "torchsdpa", "flash", "cudnn", "efficient", "math")


def parse_variant(label: str) -> tuple[str, dict]:
    """'engine[+option...]' -> (engine, stack settings). Options: unfused (the plain torch step), normrouter
    (the fused RMSNorm + router launch), epilogue (residual adds in the GEMM epilogues), torchsdpa (torch's
    own SDPA choice instead of 'auto'), or one SDPA backend (flash/cudnn/efficient/math)."""
    engine, *opts = label.split("+")
    bad = [o for o in opts if o not in OPTIONS]
    if bad:
        raise SystemExit(f"unknown step variant option(s) {bad} in {label!r}; accepted: {', '.join(OPTIONS)}")
    default = None if "torchsdpa" in opts else "auto"
    sdpa = next((o for o in opts if o in ("flash", "cudnn", "efficient", "math")), default)
    return engine, {"fused": "unfused" not in opts, "fused_router": "normrouter" in opts,
                    "residual_epilogue": "epilogue" in opts, "sdpa_backend": sdpa}


def step_points(spec, args, run: MeasurementRun, profiles: list, log) -> None:
    """Full-stack step points of one model for every step engine (and the unfused 'before')."""
    stack = DiffusionStack(spec, layer_kinds_of(spec), True, args.prefix_len, "cuda")
    for label in args.step_engines:
        engine, settings = parse_variant(label)
        _, fail = guarded(lambda: [stack.set_engine(engine)], "step", spec.name, args.routing, 0, label)
        if fail:
            run.failed += fail
            log(f"[{spec.name}] engine {label} unavailable: {fail[0].reason}")
            continue
        for key, value in settings.items():
            setattr(stack, key, value if key != "fused" else value and stack.fused_default)
        eager = engine in EAGER_ENGINES
        if eager and args.eager_step_models is not None and spec.name not in args.eager_step_models:
            continue
        cfg = TimingConfig(reps=args.eager_reps if eager else args.reps, warmup=1 if eager else 2)
        for n in args.tokens:
            routing = sample_routing(spec, args.routing, n, 2 if eager else 4, args.seed + n)

            def one(n=n, routing=routing):
                a, b, tele, graph = time_stack(stack, routing, n, cfg)
                per_layer, u_mean, u_p90 = (unique_experts(routing, spec.num_experts) if routing is not None
                                            else ([], None, None))
                info = {**stack.engine_info(), "cuda_graph": graph, "fused_step": stack.fused,
                        "fused_router": stack.fused_router, "sdpa_backend": stack.sdpa_backend,
                        "residual_epilogue": stack.residual_epilogue}
                return [point_from_timing("step", spec, args.routing, n, label, "full", a, b, tele, run.ceilings,
                                          args.prefix_len, per_layer, u_mean, u_p90, info)]
            pts, fails = guarded(one, "step", spec.name, args.routing, n, label)
            run.points += pts
            run.failed += fails
            for p in pts:
                log(f"[{spec.name}] step N={n:4d} {label:24s} {p.step_ms:9.3f} ms  {p.util_copy:6.1%}")
            if pts and label in PROFILED and n in args.profile_tokens:
                profiles.append(_profile(stack, routing, n, label, pts[0].step_ms))
                log(format_profile(profiles[-1]["label"], profiles[-1], pts[0].step_ms))
    stack.free()
    del stack
    gc.collect()
    torch.cuda.empty_cache()


def _profile(stack, routing, n, label, step_ms) -> dict:
    """Top kernels of CUDA-graph replays of this step (same routing sample every replay)."""
    stack.prepare(n)
    rt = torch.from_numpy(routing[0]).cuda()
    tok = torch.randint(0, stack.spec.vocab, (n,), device="cuda")
    with torch.inference_mode():
        stack.forward(tok, rt)
        graph = torch.cuda.CUDAGraph()
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            stack.forward(tok, rt)
        torch.cuda.current_stream().wait_stream(s)
        with torch.cuda.graph(graph):
            stack.forward(tok, rt)
        prof = profile_step(graph.replay, steps=5)
    return {"label": f"{stack.spec.name} N={n} {label}", "step_ms": step_ms, **prof}


def references(specs, run: MeasurementRun, args, log) -> list[dict]:
    """Same-bytes cuBLAS baseline per (model, N) at the unique-expert count of the layer points."""
    out = []
    for spec in specs:
        for n in args.tokens:
            pts = [p for p in run.points if p.kind == "moe_layer" and p.model == spec.name and p.n_tokens == n]
            if pts:
                u = pts[0].unique_experts_mean
            else:
                u = float(unique_experts(make_router(args.routing, spec).route(n, 4, 1000 + n), spec.num_experts)[1])
            r = cublas_same_bytes(spec.hidden, spec.expert_inter, max(1, round(u)), n)
            r.update(model=spec.name, unique_experts_mean=u)
            out.append(r)
            log(f"[{spec.name}] cuBLAS same-bytes N={n:4d} experts {r['experts']:4d} {r['ms']:8.3f} ms "
                f"{r['bandwidth_bytes_s'] / 1e12:5.2f} TB/s")
    return out


def one_table(run: MeasurementRun, args, refs: list[dict], profiles: list[dict]) -> str:
    c = run.ceilings
    copy_bw, read_bw = c.copy_bandwidth_bytes_s, c.details.get("read_bandwidth_bytes_s", 0.0)
    layer_engines = args.layer_engines
    step_labels = list(args.step_engines)
    lines = [f"ceilings (same run): copy {copy_bw / 1e12:.2f} TB/s (read+write; THE ROOFLINE USED), read-only "
             f"{read_bw / 1e12:.2f} TB/s (reduction), bf16 GEMM {c.bf16_gemm_flops / 1e12:.0f} TFLOP/s",
             "cells: ms (% of copy roofline); cuBLAS same-bytes: ms (% of read-only, % of copy)"]
    for model in dict.fromkeys(p.model for p in run.points):
        head = f"{'N':>4s} {'uniq':>6s} | " + " ".join(f"{'L:' + e[:16]:>19s}" for e in layer_engines) + \
            f" {'L:cuBLAS same-bytes':>24s} | " + " ".join(f"{'S:' + e[:26]:>26s}" for e in step_labels)
        lines += ["", f"== {model}: MoE layer (L:, routed experts) and full step (S:, all layers + head)", head,
                  "-" * len(head)]
        for n in args.tokens:
            def cell(kind, eng):
                p = next((p for p in run.points if p.kind == kind and p.model == model and p.n_tokens == n
                          and p.engine == eng), None)
                if p is None:
                    failed = any(f.model == model and f.n_tokens == n and f.engine == eng for f in run.failed)
                    return "failed" if failed else "-"
                return f"{p.step_ms:7.3f} ({p.util_copy:5.1%})"
            r = next((r for r in refs if r["model"] == model and r["n_tokens"] == n), None)
            rc = (f"{r['ms']:7.3f} ({r['bandwidth_bytes_s'] / read_bw:4.0%},{r['bandwidth_bytes_s'] / copy_bw:4.0%})"
                  if r and read_bw else "-")
            u = next((p.unique_experts_mean for p in run.points if p.model == model and p.n_tokens == n
                      and p.unique_experts_mean), 0.0)
            lines.append(f"{n:4d} {u:6.1f} | " + " ".join(f"{cell('moe_layer', e):>19s}" for e in layer_engines)
                         + f" {rc:>24s} | " + " ".join(f"{cell('step', e):>26s}" for e in step_labels))
    for f in run.failed:
        lines.append(f"FAILED {f.model} {f.kind} N={f.n_tokens} {f.engine}: {f.reason[:150]}")
    for prof in profiles:
        lines.append(format_profile(prof["label"], prof, prof["step_ms"]))
    return "\n".join(lines)


def main(argv=None) -> MeasurementRun:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["llada2_mini", "llada_moe_7b"])
    ap.add_argument("--tokens", nargs="+", type=int, default=[1, 8, 32, 64, 128, 256])
    ap.add_argument("--layer-engines", nargs="+", default=["grouped_triton", "grouped", "deepspeed", "loop"])
    ap.add_argument("--step-engines", nargs="+",
                    default=["grouped_triton", "grouped_triton+unfused", "grouped_triton+normrouter",
                             "grouped_triton+epilogue", "grouped_triton+torchsdpa", "grouped", "deepspeed", "loop"],
                    help="engine[+option...]: options " + ", ".join(OPTIONS))
    ap.add_argument("--step-models", nargs="*", default=None, help="models with step points (default: --models)")
    ap.add_argument("--eager-step-models", nargs="*", default=None,
                    help="models whose full step is also timed with loop/deepspeed (default: all)")
    ap.add_argument("--routing", default="calibrated")
    ap.add_argument("--prefix-len", type=int, default=512)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--eager-reps", type=int, default=3, help="reps for loop/deepspeed (host-synchronising)")
    ap.add_argument("--profile-tokens", nargs="*", type=int, default=[1, 64])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--git-sha", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--table", default=None)
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("benchmarks/step_bench.py needs a CUDA GPU; recorded results live under results/")
    log = lambda s: print(s, flush=True)  # noqa: E731
    specs = [load_model_spec(m) for m in args.models]
    run = MeasurementRun(provenance=collect_provenance("python benchmarks/step_bench.py " + shlex.join(argv),
                                                       args.git_sha), ceilings=measure_ceilings("cuda"))
    run.ceilings.details.update(measure_read_bandwidth())
    log(f"copy {run.ceilings.copy_bandwidth_bytes_s / 1e12:.3f} TB/s, read-only "
        f"{run.ceilings.details['read_bandwidth_bytes_s'] / 1e12:.3f} TB/s")
    refs, profiles = [], []
    try:
        for engines, reps in (([e for e in args.layer_engines if e not in EAGER_ENGINES], 30),
                              ([e for e in args.layer_engines if e in EAGER_ENGINES], 10)):
            if engines:
                run_layer_bench(specs, args.tokens, engines, args.routing, lambda s: make_router(args.routing, s),
                                TimingConfig(reps=reps, rotations=16), run.ceilings, run, check_tokens=[64], log=log)
        refs = references(specs, run, args, log)
        run.checks += [{"check": "reference", **r} for r in refs]
        save_results(run, args.out)
        for spec in specs:
            if args.step_models is None or spec.name in args.step_models:
                step_points(spec, args, run, profiles, log)
                save_results(run, args.out)
        remeasure_copy_ceiling(run, "cuda")
    finally:
        run.checks += [{"check": "profile", **p} for p in profiles]
        save_results(run, args.out)
    text = one_table(run, args, refs, profiles)
    print(text)
    if args.table:
        Path(args.table).write_text(text + "\n")
    return run


if __name__ == "__main__":
    main()
