"""Sweep points (model, routing, N): routing stats + byte/FLOP model + roofline, as records; plain-text CLI.

    python -m tasks.moe.sweep --models llada2_mini llada_moe_7b llama2_70b --routing calibrated iid \
        --tokens 1 8 16 32 64 128 256
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.moe.hardware import load_hardware
from tasks.moe.routing import make_router
from tasks.moe.specs import load_model_spec
from tasks.moe.stats import expert_stats, fit_growth_law
from tasks.moe.step_model import load_decoding_setup, make_step_setup, roofline, step_cost

log = logging.getLogger(__name__)
DENSE_ROUTING = "dense"  # routing label of dense-model points (no routing)


@dataclass(frozen=True)
class SweepPointSpec:
    """What one sweep point depends on (also its cache key)."""

    model: str
    routing: str
    n_tokens: int
    hardware: tuple[str, ...] = ("h100_sxm", "h200")
    prefix_len: int = 512
    steps: int = 16
    seed: int = 0
    decoding: str = "llada2_block32_t095"
    tokens_per_step: float | None = None
    routing_params: tuple[tuple[str, Any], ...] = ()  # hashable; built from a dict by sweep_points

    @property
    def label(self) -> str:
        return f"{self.model}·{self.routing}·N={self.n_tokens}"


@dataclass
class PointResult:
    """Outcome of one sweep point; failed points carry their error and no numbers."""

    model: str
    routing: str
    n_tokens: int
    prefix_len: int
    steps: int
    seed: int
    decoding: str
    hardware: list[str]
    source: str = "modelled"  # class of the step time: a roofline on a datasheet is modelled
    failed: bool = False
    error: str | None = None
    tokens_committed: float = 0.0
    routing_params: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)  # ExpertStats.to_dict(); empty for dense models
    bytes: dict[str, float] = field(default_factory=dict)  # StepCost.bytes_breakdown()
    flops: float = 0.0
    roofline: dict[str, dict[str, Any]] = field(default_factory=dict)  # hardware name -> Roofline.to_dict()
    wall_s: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.model}·{self.routing}·N={self.n_tokens}"

    @property
    def unique_mean(self) -> float:
        return float(self.stats.get("unique_mean", 0.0))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PointResult":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def run_point(point: SweepPointSpec, conf_dir: Path | None = None,
              calibration: dict | str | Path | None = None) -> PointResult:
    """Evaluate one point; any exception becomes a failed PointResult with its reason.

    Args:
        point: the point.
        conf_dir: conf/ directory (default: the repository's).
        calibration: ceilings for hardware 'measured' (dict or JSON path).
    Returns:
        PointResult (source='projected').
    """
    t0 = time.perf_counter()
    res = PointResult(model=point.model, routing=point.routing, n_tokens=point.n_tokens,
                      prefix_len=point.prefix_len, steps=point.steps, seed=point.seed, decoding=point.decoding,
                      hardware=list(point.hardware))
    try:
        spec = load_model_spec(point.model, conf_dir)
        # A dense autoregressive baseline commits one token per step, whatever N its forward processes: it is never
        # credited with a diffusion setup's tokens per step (tokens/s of a dense row = 1 / step time).
        tokens_per_step = 1.0 if spec.family == "dense" else point.tokens_per_step
        setup = make_step_setup(point.n_tokens, point.prefix_len, load_decoding_setup(point.decoding, conf_dir),
                                tokens_per_step)
        res.tokens_committed = setup.tokens_committed_per_step
        if spec.family == "dense":
            res.routing = DENSE_ROUTING
            unique: list[float] | float = 0.0
        else:
            if point.routing == DENSE_ROUTING:
                raise ValueError(f"routing 'dense' is only for dense models; {spec.name} is MoE")
            router = make_router(point.routing, spec, **dict(point.routing_params), conf_dir=conf_dir) \
                if point.routing == "calibrated" else make_router(point.routing, spec, **dict(point.routing_params))
            routed_tokens = setup.block_len if setup.kv_cache else setup.block_len + setup.prefix_len
            st = expert_stats(router.route(routed_tokens, point.steps, point.seed), spec.num_experts)
            res.routing_params = router.params()
            res.stats = st.to_dict()
            unique = st.unique_per_layer_mean
        cost = step_cost(spec, setup, unique)
        res.bytes = cost.bytes_breakdown()
        res.flops = cost.total_flops
        for hw_name in point.hardware:
            hw = load_hardware(hw_name, conf_dir, calibration=calibration)
            res.roofline[hw_name] = roofline(cost, hw).to_dict()
    except Exception as exc:  # one bad point must not stop the sweep
        res.failed = True
        res.error = f"{type(exc).__name__}: {exc}"
        log.warning("sweep point %s failed: %s", point.label, res.error)
        log.debug("%s", traceback.format_exc())
    res.wall_s = time.perf_counter() - t0
    return res


def sweep_points(models: list[str], routings: list[str], tokens: list[int], hardware=("h100_sxm", "h200"),
                 prefix_len: int = 512, steps: int = 16, seed: int = 0, decoding: str = "llada2_block32_t095",
                 routing_params: dict[str, dict[str, Any]] | None = None,
                 conf_dir: Path | None = None) -> list[SweepPointSpec]:
    """The grid models x routings x tokens; dense models get one 'dense' point per N (routing is moot)."""
    points = []
    for m in models:
        dense = load_model_spec(m, conf_dir).family == "dense"
        for r in ([DENSE_ROUTING] if dense else routings):
            params = tuple(sorted(((routing_params or {}).get(r) or {}).items()))
            points += [SweepPointSpec(m, r, int(n), tuple(hardware), prefix_len, steps, seed, decoding,
                                      routing_params=params) for n in tokens]
    return points


def _dense_baseline(results: list[PointResult]) -> dict[int, PointResult]:
    dense = [r for r in results if r.routing == DENSE_ROUTING and not r.failed]
    first = dense[0].model if dense else None
    return {r.n_tokens: r for r in dense if r.model == first}


def summary_table(results: list[PointResult]) -> list[dict[str, Any]]:
    """One flat row per point: N, unique experts, bytes, roofline per hardware, ratio to the dense baseline."""
    base = _dense_baseline(results)
    rows = []
    for r in results:
        row: dict[str, Any] = {"model": r.model, "routing": r.routing, "N": r.n_tokens, "source": r.source}
        if r.failed:
            rows.append(row | {"failed": True, "error": r.error})
            continue
        row |= {"unique_mean": r.stats.get("unique_mean"), "unique_p90": r.stats.get("unique_p90"),
                "iid_unique": r.stats.get("iid_expected_unique"),
                "activated_fraction": r.stats.get("activated_fraction"),
                "tokens_per_step": r.tokens_committed, "MB_per_step": r.bytes["total"] / 1e6,
                "routed_MB": r.bytes["routed_expert"] / 1e6, "GFLOP": r.flops / 1e9}
        b = base.get(r.n_tokens)
        for hw, rf in r.roofline.items():
            row[f"{hw}_ms"] = rf["time_ms"]
            row[f"{hw}_tok_s"] = rf["tokens_per_s"]
            row[f"{hw}_bound"] = rf["bound"]
            if b is not None and hw in b.roofline:
                row[f"{hw}_vs_{b.model}"] = rf["time_ms"] / b.roofline[hw]["time_ms"]
        rows.append(row | {"failed": False})
    return rows


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "FAIL" if v else ""
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}" if abs(v) < 1e5 else f"{v:.3g}"
    return str(v)


def format_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """Plain-text, fixed-width table (no rich on the GPU box)."""
    if not rows:
        return "(no rows)"
    if columns is None:
        columns = []
        for row in rows:
            columns += [k for k in row if k not in columns and k not in ("source", "error")]
    cells = [[_fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(x.rjust(w) for x, w in zip(cell, widths)) for cell in cells]
    lines += [f"FAILED {r['model']}·{r['routing']}·N={r['N']}: {r['error']}" for r in rows if r.get("failed")]
    return "\n".join(lines)


def growth_fits(results: list[PointResult]) -> list[dict[str, Any]]:
    """Saturating growth-law fit of unique experts vs N for each (model, routing) with >= 2 points."""
    groups: dict[tuple[str, str], list[PointResult]] = {}
    for r in results:
        if not r.failed and r.stats:
            groups.setdefault((r.model, r.routing), []).append(r)
    out = []
    for (model, routing), rs in groups.items():
        if len(rs) < 2:
            continue
        rs.sort(key=lambda r: r.n_tokens)
        g = fit_growth_law([r.n_tokens for r in rs], [r.unique_mean for r in rs], rs[0].stats["num_experts"])
        out.append({"model": model, "routing": routing, "E": g.num_experts, "p": g.p, "n0": g.n0, "r2": g.r2,
                    "mix_n0": g.mix_n0, "mix_beta": g.mix_beta, "mix_r2": g.mix_r2,
                    "slope_small_N": g.small_n_slope})
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: run the grid and print the summary and growth-fit tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["llada2_mini", "llada_moe_7b", "llama2_70b"])
    ap.add_argument("--routing", nargs="+", default=["calibrated", "iid"])
    ap.add_argument("--tokens", nargs="+", type=int, default=[1, 8, 16, 32, 64, 128, 256])
    ap.add_argument("--hardware", nargs="+", default=["h100_sxm", "h200"])
    ap.add_argument("--prefix-len", type=int, default=512)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--decoding", default="llada2_block32_t095")
    ap.add_argument("--calibration", help="JSON with measured ceilings, for --hardware measured")
    ap.add_argument("--trace-path", help="trace file for --routing trace (format: tasks/moe/TRACE_FORMAT.md)")
    ap.add_argument("--zipf-exponent", type=float, default=1.0)
    ap.add_argument("--json", help="write the PointResults as JSON to this path")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    routing_params = {"zipf": {"exponent": args.zipf_exponent}}
    if args.trace_path:
        routing_params["trace"] = {"path": args.trace_path}
    points = sweep_points(args.models, args.routing, args.tokens, args.hardware, args.prefix_len, args.steps,
                          args.seed, args.decoding, routing_params)
    results = [run_point(p, calibration=args.calibration) for p in points]
    wall = time.perf_counter() - t0
    cal = next((r.routing_params.get("fit") for r in results if r.routing_params.get("fit")), None)
    if cal:
        print(f"calibrated routing: block_logit_scale={cal['value']:.4f} fitted by {cal['method']} "
              f"({cal['iterations']} iters) -> {cal['achieved_unique']:.2f} unique vs target "
              f"{cal['target_unique']} ({cal['model']}, block {cal['block_len']})")
    print(f"projected (roofline) | prefix {args.prefix_len} | decoding {args.decoding} | {args.steps} sampled steps\n")
    rows = summary_table(results)
    cols = ["model", "routing", "N", "unique_mean", "unique_p90", "iid_unique", "activated_fraction",
            "tokens_per_step", "MB_per_step"]
    for hw in args.hardware:
        cols += [f"{hw}_ms", f"{hw}_tok_s", f"{hw}_bound"]
        cols += sorted({k for row in rows for k in row if k.startswith(f"{hw}_vs_")})
    print(format_table(rows, cols))
    fits = growth_fits(results)
    if fits:
        print("\ngrowth law U(N)=E(1-exp(-N/n0)) and heterogeneous E(1-(1+N/(beta*n0))^-beta):")
        print(format_table(fits))
    print(f"\n{len(results)} points, {sum(r.failed for r in results)} failed, wall {wall:.2f} s")
    if args.json:
        import json

        Path(args.json).write_text(json.dumps([r.to_dict() for r in results], indent=1))
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
