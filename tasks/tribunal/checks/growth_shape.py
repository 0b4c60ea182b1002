"""Words for how unique experts grow with N agree with the run: "sub-linear", "linear", "super-linear".

The run gives the growth exponent between the asked N: p = log(E_hi / E_lo) / log(N_hi / N_lo) for each question
model (p < 1: sub-linear; p > 1: super-linear). A sentence of the draft's own prose that speaks of experts and calls
the growth super-linear (quadratic, exponential, "more than doubles") when every model's p is below 1, sub-linear
when every p is above 1, or plainly linear when every p is far from 1 (outside 0.75–1.33), contradicts its own
results. The words are data (conf/tribunal/lexicon.yaml ``growth_shape``).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import lexicon
from tasks.tribunal.checks.prose import negated_before, phrase_patterns, sentences
from tasks.tribunal.checks.report_text import numbers
from tasks.tribunal.checks.values import matches

SECTIONS = ("Abstract", "Introduction", "Results", "Discussion", "Limitations", "Conclusion")
EXPERTS = re.compile(r"\bexperts?\b|expert explosion", re.I)
LINEAR_BAND = (0.75, 1.0 / 0.75)
COMPARATIVE = re.compile(r"\s*[×x]?\s*(?:below|above|faster|slower|lower|higher|less|more|smaller|larger|than)\b", re.I)


@lru_cache(maxsize=1)
def _patterns() -> dict[str, list]:
    return {kind: phrase_patterns(words or []) for kind, words in (lexicon().get("growth_shape") or {}).items()}


def exponents(ctx: CheckContext) -> dict[str, float]:
    """model -> growth exponent of unique experts between the smallest and largest asked N (answer rows)."""
    b = ctx.bundle
    asked = getattr(b.question, "structured", None)
    tokens = sorted(set(getattr(asked, "parallel_tokens", None) or []))
    models = getattr(asked, "models", None) or sorted({r.model for r in b.rows() if not r.dense})
    out = {}
    if len(tokens) < 2:
        return out
    for model in models:
        lo, hi = b.best_row(model, tokens[0]), b.best_row(model, tokens[-1])
        if lo and hi and lo.unique_experts_mean and hi.unique_experts_mean:
            out[model] = math.log(hi.unique_experts_mean / lo.unique_experts_mean) / math.log(tokens[-1] / tokens[0])
    return out


def said_shape(sentence: str) -> tuple[str, str] | None:
    """(shape, phrase) the sentence gives the growth, sub-linear words first ('does not double' is not 'doubles')."""
    for kind in ("decreasing", "sublinear", "superlinear", "linear"):
        for p in _patterns().get(kind, []):
            for m in p.finditer(sentence):
                if not negated_before(sentence, m.start()):
                    return kind, m.group(0)
    return None


def growth_ratios(ctx: CheckContext) -> list[float]:
    """Every ratio of unique experts between two asked N the run gives: per question model, per routing hypothesis
    (central, band edges, each named hypothesis) and per sweep row."""
    b = ctx.bundle
    asked = getattr(b.question, "structured", None)
    tokens = sorted(set(getattr(asked, "parallel_tokens", None) or []))
    out = []
    for lo_n, hi_n in ((a, c) for i, a in enumerate(tokens) for c in tokens[i + 1:]):
        for model in {s.model for s in b.sensitivity}:
            lo = next((s for s in b.sensitivity if s.model == model and s.n_tokens == lo_n), None)
            hi = next((s for s in b.sensitivity if s.model == model and s.n_tokens == hi_n), None)
            if lo and hi:
                pairs = [(lo.experts_central, hi.experts_central), (lo.experts_low, hi.experts_low),
                         (lo.experts_high, hi.experts_high)]
                pairs += [(lo.hypotheses[h], hi.hypotheses[h]) for h in lo.hypotheses if h in hi.hypotheses]
                out += [h / lw for lw, h in pairs if lw]
        for r_lo in b.rows(n_tokens=lo_n):
            out += [r_hi.unique_experts_mean / r_lo.unique_experts_mean for r_hi in b.rows(r_lo.model, hi_n)
                    if r_hi.routing == r_lo.routing and r_lo.unique_experts_mean and r_hi.unique_experts_mean]
    return out


def _ratio_findings(ctx: CheckContext, section: str, s: str, ratios: list[float]) -> list[Finding]:
    """'×r' growth figures of a sentence about experts that no ratio of the run's expert counts gives."""
    out = []
    nums = numbers(s)
    if any(n.unit == "ms" for n in nums):  # a sentence about latency: its factors are baseline_factor's to judge
        return out
    for n in nums:
        if COMPARATIVE.match(n.unit_after):
            continue
        if n.ratio and n.value > 0 and not any(matches(n.value, n.decimals, r, 0.01) for r in ratios):
            out.append(Finding(kind="growth_ratio_untraced", where=section,
                               message=f"'×{n.text}' is no ratio of the run's unique experts between the asked N "
                                       f"(nearest ×{min(ratios, key=lambda r: abs(r - n.value)):.3g}): \"{s[:120]}\""))
    return out


@register("growth_shape_consistent", "skeptic", "do the words for how experts grow with N (sub-linear, linear, "
          "super-linear) agree with the run's growth exponent?")
def growth_shape_consistent(ctx: CheckContext) -> CheckResult:
    p = exponents(ctx)
    if ctx.report is None or not p:
        return not_applicable("growth_shape_consistent", "no report text" if ctx.report is None else "no growth between asked N")
    lo, hi = min(p.values()), max(p.values())
    wrong = {"decreasing": lo > 0.0, "superlinear": hi < 1.0, "sublinear": lo > 1.0,
             "linear": hi < LINEAR_BAND[0] or lo > LINEAR_BAND[1]}
    findings = []
    ratios = growth_ratios(ctx)
    for section, s in sentences(ctx.report, SECTIONS, cited=False):
        if EXPERTS.search(s) and ratios and re.search(r"\bgrow|\bfrom N\s*=|×", s):
            findings += _ratio_findings(ctx, section, s, ratios)
        if not EXPERTS.search(s) or (said := said_shape(s)) is None:
            continue
        kind, phrase = said
        if wrong[kind]:
            findings.append(Finding(kind="growth_shape_contradicts_results", where=section,
                                    message=f"calls the growth '{phrase}', but the run's exponent between the asked N is "
                                            f"{lo:.2f}–{hi:.2f} (1 = linear): \"{s[:130]}\""))
    shown = ", ".join(f"{m} {v:.2f}" for m, v in p.items())
    return result("growth_shape_consistent", findings[:5], f"growth exponents: {shown}")
