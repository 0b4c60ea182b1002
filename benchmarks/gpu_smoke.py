"""GPU smoke run: ceilings, engine equivalence at real dims, graph-replay correctness, a few timings,
the DeepSpeed inference-v2 JIT build, and one full-stack step per model. Writes JSON to --out.

    python benchmarks/gpu_smoke.py --out $OUT/smoke.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from tasks.gpu.engines import MoEWeights, make_engine  # noqa: E402
from tasks.gpu.layer_bench import equivalence_check, layer_samples, measure_layer_point  # noqa: E402
from tasks.gpu.points import TimingConfig  # noqa: E402
from tasks.gpu.results import MeasurementRun, collect_provenance  # noqa: E402
from tasks.moe.routing import make_router  # noqa: E402
from tasks.moe.specs import load_model_spec  # noqa: E402

BUILD_SNIPPET = r"""
import time, sys, traceback
from deepspeed.ops.op_builder import InferenceCutlassBuilder, RaggedOpsBuilder, InferenceCoreBuilder
for b in (InferenceCutlassBuilder(), InferenceCoreBuilder(), RaggedOpsBuilder()):
    t = time.time()
    try:
        b.load(verbose=False)
        print(f"BUILD {b.NAME} ok {time.time()-t:.1f}s", flush=True)
    except BaseException as e:
        print(f"BUILD {b.NAME} FAILED {time.time()-t:.1f}s {type(e).__name__}: {e}", flush=True)
        traceback.print_exc()
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--build-timeout", type=float, default=240)
    args = ap.parse_args()
    out: dict = {"t0": time.time()}
    log_dir = Path(args.out).parent
    build_log = open(log_dir / "ds_v2_build.log", "w")
    build = subprocess.Popen([sys.executable, "-c", BUILD_SNIPPET], stdout=build_log, stderr=subprocess.STDOUT,
                             env={**os.environ, "TORCH_CUDA_ARCH_LIST": "9.0", "MAX_JOBS": "12"})
    run = MeasurementRun(provenance=collect_provenance("smoke"), ceilings=None)
    out["provenance"] = run.provenance.__dict__
    from tasks.gpu.measure import measure_ceilings
    ceil = measure_ceilings("cuda")
    out["ceilings"] = ceil.__dict__
    print(f"copy {ceil.copy_bandwidth_bytes_s/1e12:.3f} TB/s  gemm {ceil.bf16_gemm_flops/1e12:.0f} TFLOP/s", flush=True)
    spec = load_model_spec("llada2_mini")
    router = make_router("calibrated", spec)
    w = MoEWeights.random(spec.num_experts, spec.hidden, spec.expert_inter, device="cuda", seed=3)
    out["checks"], out["layer"] = [], []
    r64 = router.route(64, 4, 5)
    for eng in ("grouped", "grouped_triton", "loop", "deepspeed"):
        try:
            e = make_engine(eng, w, spec.top_k)
            c = equivalence_check(e, w, layer_samples(r64))
            out["checks"].append(c)
            print("equiv", c, flush=True)
        except Exception as exc:  # noqa: BLE001
            out["checks"].append({"engine": eng, "error": traceback.format_exc()[-800:]})
            print("equiv FAILED", eng, exc, flush=True)
    # graph replay with rotated routing must equal eager
    for eng in ("grouped", "grouped_triton"):
        try:
            e = make_engine(eng, w, spec.top_k)
            s = torch.from_numpy(layer_samples(r64)).cuda()
            x = torch.randn(s.shape[0], 64, spec.hidden, device="cuda", dtype=torch.bfloat16)
            tw = torch.softmax(torch.randn(s.shape[0], 64, 8, device="cuda"), -1)
            sx, si, sw = x[0].clone(), s[0].clone(), tw[0].clone()
            e(sx, si, sw)
            torch.cuda.synchronize()
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                o = e(sx, si, sw)
            errs = []
            for i in range(1, 4):
                sx.copy_(x[i]); si.copy_(s[i]); sw.copy_(tw[i])
                g.replay()
                ref = e(x[i], s[i], tw[i])
                errs.append(float((o.float() - ref.float()).abs().max()))
            out["checks"].append({"check": "graph replay == eager", "engine": eng, "max_abs_diff": errs})
            print("graph", eng, errs, flush=True)
        except Exception:  # noqa: BLE001
            out["checks"].append({"engine": eng, "graph_error": traceback.format_exc()[-800:]})
            print("graph FAILED", eng, traceback.format_exc()[-500:], flush=True)
    cfg = TimingConfig(reps=20, rotations=16)
    for n in (64, 256):
        rr = router.route(n, 4, 10 + n)
        for eng, opts in (("grouped", {}), ("grouped_triton", {})):
            try:
                p = measure_layer_point(spec, eng, w, rr, "calibrated", cfg, ceil, **opts)[0]
                out["layer"].append({"engine": eng, "opts": opts, "n": n, "ms": p.step_ms, "util": p.util_copy,
                                     "uniq": p.unique_experts_mean, "spread": p.spread, "info": p.engine_info})
                print(f"layer N={n} {eng} {opts} {p.step_ms:.4f} ms util {p.util_copy:.1%} uniq "
                      f"{p.unique_experts_mean:.1f} spread {p.spread:.1%} {p.engine_info}", flush=True)
            except Exception:  # noqa: BLE001
                print("layer FAILED", eng, opts, traceback.format_exc()[-600:], flush=True)
    try:
        p = measure_layer_point(spec, "deepspeed", w, router.route(64, 4, 3), "calibrated",
                                TimingConfig(reps=5, rotations=4), ceil)[0]
        print(f"layer N=64 deepspeed {p.step_ms:.3f} ms", flush=True)
        out["layer"].append({"engine": "deepspeed", "n": 64, "ms": p.step_ms})
    except Exception:  # noqa: BLE001
        print("deepspeed layer FAILED", traceback.format_exc()[-600:], flush=True)
    # deepspeed v2
    try:
        build.wait(timeout=max(1.0, args.build_timeout - (time.time() - out["t0"])))
    except subprocess.TimeoutExpired:
        build.kill()
        print("ds v2 build: TIMEOUT", flush=True)
    build_log.close()
    print((log_dir / "ds_v2_build.log").read_text()[-3000:], flush=True)
    try:
        e = make_engine("deepspeed_v2", w, spec.top_k)
        c = equivalence_check(e, w, layer_samples(r64))
        out["checks"].append(c)
        print("equiv v2", c, e.info(), flush=True)
        p = measure_layer_point(spec, "deepspeed_v2", w, router.route(64, 4, 3), "calibrated", cfg, ceil)[0]
        print(f"layer N=64 deepspeed_v2 {p.step_ms:.4f} ms util {p.util_copy:.1%}", flush=True)
    except Exception:  # noqa: BLE001
        out["v2_error"] = traceback.format_exc()[-1500:]
        print("deepspeed_v2 FAILED", out["v2_error"], flush=True)
    # full stack, one point per model
    e = None
    del w
    import gc; gc.collect(); torch.cuda.empty_cache()
    from tasks.gpu import measure
    for model, extra in (("llada2_mini", ["--validate-per-layer", "llada2_mini"]), ("llama2_70b", [])):
        try:
            t = time.time()
            r = measure.main(["--models", model, "--tokens", "64", "--reps", "20", "--engines", "grouped_triton",
                              "--out", str(log_dir / f"smoke_{model}.json"), *extra])
            out.setdefault("steps", []).append({"model": model, "wall_s": time.time() - t,
                                                "points": [p.__dict__ for p in r.points],
                                                "failed": [f.__dict__ for f in r.failed], "checks": r.checks})
        except Exception:  # noqa: BLE001
            print("step FAILED", model, traceback.format_exc()[-800:], flush=True)
    out["wall_s"] = time.time() - out["t0"]
    Path(args.out).write_text(json.dumps(out, indent=1, default=str))
    print("smoke wall", out["wall_s"])


if __name__ == "__main__":
    main()
