"""The flagship answer's derived records: latency per committed token, feasibility, sensitivity, validation.

Pure functions from the sweep (PointResults + SweepRows) and the data files in conf/; the bundle builder
(tasks/tribunal/build.py) calls :func:`derive`. Every record says its provenance class (tasks/provenance.py):

- the answer on the target GPU is ONE number per point: the measured step time scaled by the datasheet
  bandwidth ratio (``projected``) where a measurement exists, else the datasheet roofline (``modelled``);
  a model that does not fit on one target GPU is projected onto the smallest even split that holds it
  (tasks/moe/feasibility.py), and says so;
- the dense baseline is its autoregressive decode (N=1 step, one token per step).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable

from tasks.gpu.results import gpus_in_name
from tasks.moe import feasibility as feas
from tasks.moe.hardware import load_hardware
from tasks.moe.sensitivity import band, scale_ms
from tasks.moe.specs import load_model_spec
from tasks.moe.step_model import load_decoding_setup, make_step_setup
from tasks.moe.units import AUTOREGRESSIVE, committed_tokens
from tasks.moe.validation import load_published, validate

log = logging.getLogger(__name__)
_FAMILIES = ("h100", "h200", "gh200", "h800", "a100", "b200")


def _family(name: str) -> str:
    text = (name or "").lower()
    return next((f for f in _FAMILIES if f in text), text)


def _conf_key(gpu_name: str, candidates: Iterable[str]) -> str | None:
    """The conf/hardware key of a measured GPU name ('NVIDIA H200' -> 'h200')."""
    fam = _family(gpu_name)
    return next((c for c in candidates if _family(c) == fam), None)


class Answer:
    """The one target-GPU step time of a point, its provenance and the GPU count it assumes."""

    def __init__(self, step_ms: float, provenance: str, gpus: int, hardware: str) -> None:
        self.step_ms, self.provenance, self.gpus, self.hardware = step_ms, provenance, gpus, hardware


def target_answer(rows: list, model: str, n: int, target: str, context_tokens: int, conf_dir: Path | None = None) -> Answer | None:
    """The answer on ``target``: measured x bandwidth ratio (projected) if measured, else roofline (modelled); / g GPUs."""
    spec = load_model_spec(model, conf_dir)
    hw = load_hardware(target, conf_dir)
    g = feas.check_fit(spec, hw, context_tokens).gpus_needed
    split = f"; {g} GPUs, ideal {'tensor' if spec.family == 'dense' else 'expert'}-parallel split (no communication)" if g > 1 else ""
    measured = [r for r in rows if r.model == model and r.n_tokens == n and r.measured and r.step_ms]
    if measured:
        m = measured[0]
        key = _conf_key(m.hardware, ["h200", "h100_sxm", *[r.hardware for r in rows if not r.measured]])
        if key:
            src = load_hardware(key, conf_dir)
            ratio = src.hbm_bandwidth_bytes_s / hw.hbm_bandwidth_bytes_s
            w = gpus_in_name(m.hardware)
            bw = f"measured on {m.hardware} x {src.hbm_bandwidth_bytes_s / 1e12:.3g}/{hw.hbm_bandwidth_bytes_s / 1e12:.3g} TB/s datasheet bandwidth"
            if w > 1:  # a sharded measurement ('2xNVIDIA H200') already ran on w GPUs, its communication included
                par = "tensor" if spec.family == "dense" else "expert"
                rule = f"{bw} x ({w} measured GPUs / {g} GPUs), ideal {par}-parallel split, no extra communication"
            else:
                rule = bw + split
            return Answer(feas.split_ms(m.step_ms * ratio * w, g), f"projected: {rule}", g, target)
    roof = [r for r in rows if r.model == model and r.n_tokens == n and not r.measured and r.hardware == target and r.step_ms]
    if roof:
        return Answer(feas.split_ms(roof[0].step_ms, g), f"modelled: roofline on {target} datasheet{split}", g, target)
    return None


def _best_routing(rows: list, model: str) -> str | None:
    present = {r.routing for r in rows if r.model == model}
    return next((r for r in ("trace", "calibrated", "zipf", "iid", "dense") if r in present), None)


def token_latency(points: list, rows: list, q, conf_dir: Path | None = None) -> list[dict]:
    """Per-committed-token latency of the question's MoE models at the asked N and of the baseline's decode."""
    out = []
    res = {(p.model, p.routing, p.n_tokens): p for p in points if not p.failed}
    models = [m for m in q.models if any(r.model == m for r in rows)]
    for model in models:
        routing = _best_routing(rows, model)
        mrows = [r for r in rows if r.model == model and r.routing == routing]
        for n in q.parallel_tokens:
            p = res.get((model, routing, n))
            if p is None:
                continue
            ct = committed_tokens(p.decoding, n, conf_dir)
            cands = [(r.step_ms, r.hardware, f"measured:{r.source.removeprefix('measured:')}") for r in mrows if r.n_tokens == n and r.measured and r.step_ms]
            ans = target_answer(mrows, model, n, q.hardware, p.prefix_len + n, conf_dir)
            if ans:
                cands.append((ans.step_ms, q.hardware + (f" x{ans.gpus}" if ans.gpus > 1 else ""), ans.provenance))
            for step_ms, hw, prov in cands:
                c, lo, hi = ct.per_token_ms(step_ms)
                out.append(dict(model=model, n_tokens=n, hardware=hw, step_ms=step_ms, tokens_per_step=ct.central,
                                tokens_per_step_low=ct.low, tokens_per_step_high=ct.high, decoding=", ".join(ct.setups),
                                per_token_ms=c, per_token_ms_low=lo, per_token_ms_high=hi, tokens_per_s=1e3 / c, provenance=prov))
    base = [r for r in rows if r.model == q.baseline and r.n_tokens == 1 and r.step_ms]
    bp = res.get((q.baseline, "dense", 1))
    ctx = (bp.prefix_len if bp else 512) + 1
    for r in [r for r in base if r.measured]:
        out.append(_decode_row(q.baseline, r.hardware, r.step_ms, f"measured:{r.source.removeprefix('measured:')}"))
    ans = target_answer(base, q.baseline, 1, q.hardware, ctx, conf_dir)
    if ans:
        out.append(_decode_row(q.baseline, q.hardware + (f" x{ans.gpus}" if ans.gpus > 1 else ""), ans.step_ms, ans.provenance))
    return out


def _decode_row(model: str, hw: str, step_ms: float, prov: str) -> dict:
    return dict(model=model, n_tokens=1, hardware=hw, step_ms=step_ms, tokens_per_step=1.0, tokens_per_step_low=1.0,
                tokens_per_step_high=1.0, decoding=AUTOREGRESSIVE, per_token_ms=step_ms, per_token_ms_low=step_ms,
                per_token_ms_high=step_ms, tokens_per_s=1e3 / step_ms, provenance=prov)


def feasibility(points: list, rows: list, q, conf_dir: Path | None = None) -> list[dict]:
    """Every swept model (and the question's) against the target GPU and the GPUs measured on."""
    models = list(dict.fromkeys([*q.models, q.baseline, *(p.model for p in points)]))
    gpus = list(dict.fromkeys([q.hardware, *filter(None, (_conf_key(r.hardware, ["h200", "h100_sxm"]) for r in rows if r.measured))]))
    prefix = max((p.prefix_len for p in points), default=512)
    ctx = prefix + max(q.parallel_tokens)
    out = []
    for model in models:
        try:
            spec = load_model_spec(model, conf_dir)
        except ValueError:
            continue
        for hw in gpus:
            f = feas.check_fit(spec, load_hardware(hw, conf_dir), ctx)
            out.append(dict(model=model, hardware=hw, weights_gb=f.weights_gb, kv_cache_gb=f.kv_cache_gb,
                            gpu_memory_gb=f.gpu_memory_gb, fits=f.fits, gpus_needed=f.gpus_needed, parallelism=f.parallelism))
    return out


def sensitivity(points: list, rows: list, q, conf_dir: Path | None = None) -> list[dict]:
    """The band over routing hypotheses per (question MoE model, N >= 32), carried to step and per-token latency."""
    out = []
    for model in q.models:
        cal = {p.n_tokens: p for p in points if p.model == model and p.routing == "calibrated" and not p.failed and p.stats}
        if not cal:
            continue
        spec = load_model_spec(model, conf_dir)
        any_p = next(iter(cal.values()))
        u32 = cal[32].unique_mean if 32 in cal else (any_p.routing_params.get("fit") or {}).get("achieved_unique")
        if u32 is None:
            continue
        mrows = [r for r in rows if r.model == model and r.routing == "calibrated"]
        for n in sorted(n for n in cal if n >= 32):
            p = cal[n]
            setup = make_step_setup(n, p.prefix_len, load_decoding_setup(p.decoding, conf_dir))
            b = band(spec, setup, p.unique_mean, u32)
            ct = committed_tokens(p.decoding, n, conf_dir)
            blo, bhi = b.bytes_low_high()
            central_bytes = b.bytes["one block of N"]
            targets = [(r.hardware, r.step_ms, "modelled") for r in mrows if r.n_tokens == n and r.measured and r.step_ms]
            ans = target_answer(mrows, model, n, q.hardware, p.prefix_len + n, conf_dir)
            if ans:
                targets.append((q.hardware + (f" x{ans.gpus}" if ans.gpus > 1 else ""), ans.step_ms, ans.provenance.split(":")[0]))
            for hw, ms, kind in targets:
                lo_ms, hi_ms = scale_ms(ms, central_bytes, blo), scale_ms(ms, central_bytes, bhi)
                out.append(dict(model=model, n_tokens=n, hardware=hw, central="calibrated", experts_central=p.unique_mean,
                                experts_low=b.low, experts_high=b.high, hypotheses=b.experts, step_ms_central=ms,
                                step_ms_low=lo_ms, step_ms_high=hi_ms, per_token_ms_low=lo_ms / ct.high,
                                per_token_ms_high=hi_ms / ct.low, provenance=kind))
    return out


def validation(points: list, conf_dir: Path | None = None) -> list[dict]:
    """Published unique-expert counts vs the calibrated router (with the sweep's fitted parameter and seed)."""
    cal = next((p for p in points if p.routing == "calibrated" and not p.failed and p.routing_params), None)
    if cal is None:
        return []
    params = {"block_logit_scale": cal.routing_params["block_logit_scale"]}
    published = load_published(conf_dir=conf_dir)
    out = []
    for v in validate(published, "calibrated", params, cal.steps, cal.seed, conf_dir):
        pp = v.published
        vals = sorted(pp.values.values())
        out.append(dict(model=pp.model, setting=f"block={pp.block} (mean of {', '.join(pp.values)}: {vals[0]:g}-{vals[-1]:g})",
                        n_tokens=pp.block, published=pp.mean, citation=pp.citation, modelled=v.modelled,
                        error_pct=v.error_pct, used_for_fit=pp.fit))
    return out


def derive(points: Iterable[Any], rows: list, question, conf_dir: Path | None = None) -> dict[str, list[dict]]:
    """All four record lists for the bundle; each part failing alone is logged and left empty, never fatal."""
    results = [getattr(p, "projected", p) for p in points]
    q = getattr(question, "structured", None)
    out: dict[str, list[dict]] = {"validation": [], "sensitivity": [], "feasibility": [], "token_latency": []}
    if q is None or not results:
        return out
    good = [r for r in rows if not r.failed]
    jobs = {"validation": lambda: validation(results, conf_dir), "sensitivity": lambda: sensitivity(results, good, q, conf_dir),
            "feasibility": lambda: feasibility(results, good, q, conf_dir), "token_latency": lambda: token_latency(results, good, q, conf_dir)}
    for key, job in jobs.items():
        try:
            out[key] = job()
        except (ValueError, KeyError, OSError) as exc:
            log.warning("flagship %s not derived: %s", key, exc)
    return out
