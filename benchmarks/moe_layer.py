"""MoE layer benchmark: one table from one GPU run (engines x N at LLaDA2.0-mini and LLaDA-MoE-7B dimensions).

    python benchmarks/moe_layer.py --out results/h200/moe_layer.json [--table results/h200/moe_layer.txt]

Per (model, N, engine): the MoE layer time (median of >= 20 reps, timed twice), the mean unique experts of
the routing that was run (tasks.moe calibrated router by default), and the fraction of the measured copy
bandwidth achieved on the unique-expert weight bytes. Ceilings are measured in the same run.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from tasks.gpu.layer_bench import layer_table, run_layer_bench  # noqa: E402
from tasks.gpu.engines import ENGINE_NAMES  # noqa: E402
from tasks.gpu.measure import EAGER_ENGINES, measure_ceilings, remeasure_copy_ceiling  # noqa: E402
from tasks.gpu.points import TimingConfig  # noqa: E402
from tasks.gpu.results import MeasurementRun, collect_provenance, save_results  # noqa: E402
from tasks.moe.routing import ROUTING_KINDS, make_router  # noqa: E402
from tasks.moe.specs import load_model_spec  # noqa: E402

DEFAULT_ENGINES = ["grouped_triton", "grouped", "deepspeed_v2", "deepspeed", "loop"]


def main(argv=None) -> MeasurementRun:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["llada2_mini", "llada_moe_7b"])
    ap.add_argument("--tokens", nargs="+", type=int, default=[1, 8, 32, 64, 128, 256])
    ap.add_argument("--engines", nargs="+", default=DEFAULT_ENGINES, choices=ENGINE_NAMES)
    ap.add_argument("--routing", default="calibrated", choices=ROUTING_KINDS)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--eager-reps", type=int, default=20, help="reps for loop/deepspeed (no CUDA graph)")
    ap.add_argument("--check-tokens", nargs="*", type=int, default=[64])
    ap.add_argument("--git-sha", default=None)
    ap.add_argument("--out", required=True)
    ap.add_argument("--table", default=None)
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("benchmarks/moe_layer.py needs a CUDA GPU; recorded results live under results/")
    specs = [load_model_spec(m) for m in args.models]
    run = MeasurementRun(provenance=collect_provenance("python benchmarks/moe_layer.py " + shlex.join(argv),
                                                       args.git_sha), ceilings=measure_ceilings("cuda"))
    fast = [e for e in args.engines if e not in EAGER_ENGINES]
    slow = [e for e in args.engines if e in EAGER_ENGINES]
    try:
        for engines, reps in ((fast, args.reps), (slow, args.eager_reps)):
            if engines:
                run_layer_bench(specs, args.tokens, engines, args.routing, lambda s: make_router(args.routing, s),
                                TimingConfig(reps=reps, rotations=16), run.ceilings, run,
                                check_tokens=args.check_tokens, log=lambda s: print(s, flush=True))
                save_results(run, args.out)
        remeasure_copy_ceiling(run, "cuda")
    finally:  # an unexpected error keeps the points already measured
        save_results(run, args.out)
    table = layer_table(run, args.engines)
    checks = "\n".join(f"check {c['model']} {c['engine']} N={c['n_tokens']}: rel err {c['rel_error']:.2e} "
                       f"(tol {c['tol']:.0e}) {'ok' if c['passed'] else 'FAIL'}" for c in run.checks)
    fails = "\n".join(f"FAILED {f.model} N={f.n_tokens} {f.engine}: {f.reason}" for f in run.failed)
    text = "\n".join(s for s in (table, checks, fails) if s)
    print(text)
    if args.table:
        Path(args.table).parent.mkdir(parents=True, exist_ok=True)
        Path(args.table).write_text(text + "\n")
    return run


if __name__ == "__main__":
    main()
