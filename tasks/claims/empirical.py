"""Check claims about expert explosion, latency and bandwidth against our own sweep numbers.

Definitions (stated so that a verdict can be audited):
- Growth law: U(n) = a * n**b fitted by least squares on log U against log n, over the measured or
  projected range of parallel tokens n. ``b`` is the log-log slope, R² its fit quality.
- "Nearly linear" means NEARLY_LINEAR_MIN <= b <= NEARLY_LINEAR_MAX (0.8 to 1.2) with R² >= MIN_R2 (0.9):
  doubling the tokens multiplies the unique experts by at least 2**0.8 = 1.74.
  b < CLEARLY_SUBLINEAR (0.6) with a good fit contradicts "nearly linear"; anything between is unsettled.
- A claimed number agrees with ours when within REL_TOL (10%) relative difference (our numbers are
  measured on other hardware or computed by a model, so tighter tolerances would be false precision).
- Growth fits exclude N=1, where the count is k by definition (a trivial point that drags the slope).
- Honesty about the basis: a verdict resting on ``modelled`` numbers (the synthetic router, the roofline; legacy
  ``projected`` facts are read as modelled) says so in its rationale and has lower confidence than one resting on a
  measurement. CONTRADICTED needs measured (or published) evidence: on modelled evidence alone a disagreement
  becomes NOT_ENOUGH_INFO, with the reason ("qualified: our model disagrees ...").
- The N a claim is about is read from "64 tokens", "64-token", "at 64 parallel tokens", "N=64", "N = 128".
"""

from __future__ import annotations

import math
import re
from collections import defaultdict

import numpy as np

from tasks.claims.context import analyse_sentence
from tasks.claims.entities import names_match
from tasks.claims.records import Claim, EmpiricalFact, GrowthFit, Quantity, Verdict

NEARLY_LINEAR_MIN = 0.8
NEARLY_LINEAR_MAX = 1.2
CLEARLY_SUBLINEAR = 0.6
MIN_R2 = 0.9
REL_TOL = 0.10
GROWTH_METRIC = "unique_experts_mean"

_GROWTH = re.compile(r"\b(?:linear(?:ly)?|proportional\w*|sub-?linear\w*|saturat\w*|plateau\w*)\b", re.I)
_MEMORY_BOUND = re.compile(r"\bmemory[- ]bound\b", re.I)
BOUND_METRIC = "memory_bound"  # 1.0 when a point's roofline is set by bytes, 0.0 when by FLOPs
_SUBLINEAR = re.compile(r"\b(?:sub-?linear\w*|saturat\w*|plateau\w*)\b", re.I)
# claim metric word -> our metric name and how a claimed quantity converts to our unit
_METRIC_FOR = {"experts": GROWTH_METRIC, "latency": "step_ms", "bandwidth": "bandwidth_utilisation",
               "utilisation": "bandwidth_utilisation"}


CONFIDENCE = {"measured": 0.8, "published": 0.8, "projected": 0.6, "modelled": 0.55}


def _source(facts: list[EmpiricalFact]) -> str:
    kinds = {f.source for f in facts}
    if len(kinds) == 1:
        return kinds.pop()
    return "modelled"  # a mix is only as good as its weakest part


def _basis_ok(source: str) -> bool:
    """Evidence that may contradict a published claim: a measurement (or a published number)."""
    return source.startswith("measured") or source.startswith("published")


def fit_growth_law(facts: list[EmpiricalFact], metric: str = GROWTH_METRIC, model: str | None = None) -> GrowthFit | None:
    """Fit U(n) = a * n**b to ``metric`` against ``n_tokens`` (mean per n); None with fewer than two n."""
    points = [f for f in facts if f.metric == metric and f.n_tokens and f.value > 0
              and (model is None or names_match(f.model, model))
              and (metric != GROWTH_METRIC or f.n_tokens > 1)]  # N=1 gives k experts by definition: not evidence of growth
    if model is None and len({f.model for f in points}) > 1:  # never fit across models: take the best-covered one
        # ties go to the model listed first (the sweep's order): iterating a set here made runs disagree
        in_order = list(dict.fromkeys(f.model for f in points))
        busiest = max(in_order, key=lambda m: len({f.n_tokens for f in points if f.model == m}))
        points = [f for f in points if f.model == busiest]
    by_n: dict[int, list[float]] = defaultdict(list)
    for f in points:
        by_n[int(f.n_tokens)].append(f.value)
    if len(by_n) < 2:
        return None
    ns = np.array(sorted(by_n), dtype=float)
    us = np.array([np.mean(by_n[int(n)]) for n in ns])
    x, y = np.log(ns), np.log(us)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = y - y.mean()
    r2 = 1.0 if len(ns) == 2 or not total.any() else float(1 - (residual @ residual) / (total @ total))
    first = points[0]
    return GrowthFit(metric=metric, model=model or first.model, n_min=int(ns[0]), n_max=int(ns[-1]), points=len(ns),
                     exponent=round(float(slope), 4), r2=round(r2, 4), ratio=round(float(us[-1] / us[0]), 4),
                     source=_source(points), run_id=first.run_id, run_link=first.run_link)


def _origin(source: str) -> str:
    if source.startswith("measured"):
        return "measured"
    return "published" if source.startswith("published") else ("projected" if source == "projected" else "modelled")


def _verdict(claim: Claim, label: str, confidence: float, rationale: str, metric: str, value: float,
             source: str, run_id: str, run_link: str | None) -> Verdict:
    """A verdict that states its basis; CONTRADICTED on modelled evidence alone is qualified to NOT_ENOUGH_INFO."""
    basis = _origin(source)
    if not _basis_ok(basis):
        confidence = min(confidence, CONFIDENCE[basis])
        if label == "CONTRADICTED":
            label = "NOT_ENOUGH_INFO"
            rationale = (f"qualified: our {basis} numbers disagree, but a model is not evidence enough to contradict a "
                         f"claim (needs a measurement); {rationale}")
    rationale = f"basis: {basis}; {rationale}"
    return Verdict(claim_id=claim.claim_id, claim_text=claim.text, label=label, confidence=confidence,
                   verifier="empirical", rationale=rationale, metric=metric, our_value=round(value, 6),
                   source=_origin(source), run_id=run_id, run_link=run_link)


def check_growth_claim(claim: Claim, fit: GrowthFit) -> Verdict:
    """Judge a 'unique experts grow (nearly) linearly / sublinearly with parallel tokens' claim by the fit."""
    says_sublinear = bool(_SUBLINEAR.search(claim.text))
    linear = NEARLY_LINEAR_MIN <= fit.exponent <= NEARLY_LINEAR_MAX
    good_fit = fit.r2 >= MIN_R2
    law = (f"fit U(n) ~ n^{fit.exponent:.2f} (R²={fit.r2:.2f}, {fit.points} points, n={fit.n_min}..{fit.n_max}, "
           f"U({fit.n_max})/U({fit.n_min})={fit.ratio:.2f}); nearly linear means slope in "
           f"[{NEARLY_LINEAR_MIN}, {NEARLY_LINEAR_MAX}] with R² >= {MIN_R2}")
    if not good_fit:
        label, conf = "NOT_ENOUGH_INFO", 0.5
    elif linear:
        label, conf = ("CONTRADICTED" if says_sublinear else "SUPPORTED"), 0.85
    elif fit.exponent < CLEARLY_SUBLINEAR:
        label, conf = ("SUPPORTED" if says_sublinear else "CONTRADICTED"), 0.85
    else:
        label, conf = "NOT_ENOUGH_INFO", 0.55
    return _verdict(claim, label, conf, f"{law}; metric {fit.metric}, run {fit.run_id}, {fit.source}",
                    f"{fit.metric}.exponent", fit.exponent, fit.source, fit.run_id, fit.run_link)


_TOKEN_COUNT = re.compile(r"\b(\d{1,5})(?:-token|\s+(?:parallel\s+)?tokens)\b|\bN\s*=\s*(\d{1,5})\b")


def _token_count_spans(claim_text: str) -> list[tuple[int, tuple[int, int]]]:
    """(N, span of the number) for "64 tokens", "64-token", "64 parallel tokens", "N=64", "N = 128"."""
    out = []
    for m in _TOKEN_COUNT.finditer(claim_text):
        g = 1 if m.group(1) else 2
        out.append((int(m.group(g)), m.span(g)))
    return out


def _token_counts(claim_text: str) -> list[int]:
    return [n for n, _ in _token_count_spans(claim_text)]


def _ours(q: Quantity, metric: str) -> float:
    """A claimed quantity in our unit: seconds -> ms for step_ms, fractions stay fractions."""
    return q.value * 1000.0 if metric == "step_ms" and q.unit == "s" else q.value


def check_number_claim(claim: Claim, facts: list[EmpiricalFact], rel_tol: float = REL_TOL) -> Verdict | None:
    """Compare the first claimed number that maps to one of our metrics with our value at the same n.

    Our numbers depend on n, so a claim that does not say at which n it holds is not compared (None):
    averaging over our sweep range would contradict correct claims by construction.
    """
    counts = _token_counts(claim.text)
    if not counts:
        return None
    for q in analyse_sentence(claim.text).numbers:
        if any(q.span[0] < end and start < q.span[1] for _, (start, end) in _token_count_spans(claim.text)):
            continue  # "128-token block" / "N=64" is the setting, not the claimed value
        metric = next((_METRIC_FOR[m] for m in q.metrics if m in _METRIC_FOR), None)
        if metric is None:
            continue
        pool = [f for f in facts if f.metric == metric and (not counts or f.n_tokens in counts)]
        if not pool:
            continue
        if q.unit == "x" and len(counts) >= 2:  # "2x more unique experts at 128 than at 64 tokens"
            hi = [f.value for f in pool if f.n_tokens == max(counts)]
            lo = [f.value for f in pool if f.n_tokens == min(counts)]
            if not hi or not lo:
                continue
            ours, claimed = float(np.mean(hi) / np.mean(lo)), q.value
            what = f"{metric} ratio n={max(counts)}/n={min(counts)}"
        elif q.unit in ("x",):
            continue
        else:
            ours, claimed = float(np.mean([f.value for f in pool])), _ours(q, metric)
            what = f"{metric}" + (f" at n={counts}" if counts else "")
        agree = math.isclose(claimed, ours, rel_tol=rel_tol)
        src = _source(pool)
        rationale = (f"claim {q.text} vs ours {ours:.4g} ({what}, {src}, run {pool[0].run_id}); "
                     f"tolerance {rel_tol:.0%} relative")
        return _verdict(claim, "SUPPORTED" if agree else "CONTRADICTED", CONFIDENCE.get(_origin(src), 0.55),
                        rationale, metric, ours, src, pool[0].run_id, pool[0].run_link)
    return None


def check_bound_claim(claim: Claim, facts: list[EmpiricalFact]) -> Verdict | None:
    """A claim that decoding is memory-bound, against the roofline bound of our points (share of memory-bound points)."""
    pool = [f for f in facts if f.metric == BOUND_METRIC]
    if not pool:
        return None
    share = float(np.mean([f.value for f in pool]))
    label, conf = ("SUPPORTED", 0.8) if share >= 0.9 else ("CONTRADICTED", 0.75) if share <= 0.1 else ("NOT_ENOUGH_INFO", 0.5)
    ns = sorted({f.n_tokens for f in pool if f.n_tokens})
    rationale = (f"{share:.0%} of our {len(pool)} MoE points (n={ns[0]}..{ns[-1]}) are memory-bound on the roofline "
                 f"(arithmetic intensity below the hardware's FLOP/byte ridge); memory-bound means >= 90% of points, "
                 f"compute-bound <= 10%; {_source(pool)}, run {pool[0].run_id}")
    return _verdict(claim, label, conf, rationale, BOUND_METRIC, share, _source(pool), pool[0].run_id, pool[0].run_link)


def verify_empirically(claim: Claim | str, facts: list[EmpiricalFact], rel_tol: float = REL_TOL) -> Verdict | None:
    """Our verdict on a claim about expert growth, latency or bandwidth, or None when our sweep says nothing.

    Args:
        claim: a Claim or its text.
        facts: our sweep results (measured on a GPU or projected), each with its MLflow run id.
        rel_tol: relative tolerance for a claimed number against ours.
    Returns:
        A Verdict citing run id, metric and measured/projected, or None.
    """
    if isinstance(claim, str):
        from tasks.claims.extract import claim_from_text

        claim = claim_from_text(claim)
    models = [e.name for e in analyse_sentence(claim.text).models]
    if models:
        facts = [f for f in facts if any(names_match(f.model, m) for m in models)]
    if not facts:
        return None
    text = claim.text.lower()
    if _GROWTH.search(text) and "expert" in text and re.search(r"token|parallel|block", text):
        model = models[0] if models else None
        fit = fit_growth_law(facts, GROWTH_METRIC, model)
        if fit is not None:
            return check_growth_claim(claim, fit)
    if _MEMORY_BOUND.search(text) and re.search(r"decod|inference|step", text):
        verdict = check_bound_claim(claim, facts)
        if verdict is not None:
            return verdict
    if not models:
        return None  # a number about no model we ran (e.g. an attention kernel's FLOP utilisation) is not ours to judge
    return check_number_claim(claim, facts, rel_tol)
