"""A per-committed-token latency is compared with the baseline's per-token decode, never with one N-token forward.

The dense baseline's step time at N>1 is one forward over N tokens (a prefill-like pass, not autoregressive decode).
A prose sentence that names the baseline and quotes one of those step times, in ms, while no per-token figure of the
baseline has the same value, sets a diffusion model's per-token latency against a per-step figure: the speed-up it
implies is off by the baseline's tokens per forward. The rule reads the run's own rows (which N are forwards, which
figures are per token), so it holds for any baseline and any N.
"""

from __future__ import annotations

import re

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import conf_yaml
from tasks.tribunal.checks.report_text import numbers
from tasks.tribunal.checks.values import matches

PROSE = ("Abstract", "Introduction", "Discussion", "Conclusion")


@register("baseline_per_token", "skeptic", "does the prose compare per-token latency with the baseline's per-token "
          "decode, not with one N-token forward of it?")
def baseline_per_token(ctx: CheckContext) -> CheckResult:
    b = ctx.bundle
    base = getattr(b.asked, "baseline", None)
    if ctx.report is None or not base:
        return not_applicable("baseline_per_token", "no report text" if ctx.report is None else "no baseline")
    names = [x for x in (getattr(b.asked, "baseline_name", None), conf_yaml("model", base).get("display_name"), base) if x]
    per_step = [(r.step_ms, r) for r in b.rows(base) if r.n_tokens > 1 and r.step_ms]
    per_step += [(r.h100_projected_ms, r) for r in b.rows(base) if r.n_tokens > 1 and r.h100_projected_ms]
    per_token = [v for t in b.token_latency if t.model == base
                 for v in (t.per_token_ms, t.per_token_ms_low, t.per_token_ms_high, t.step_ms) if v]
    per_token += [r.step_ms for r in b.rows(base, n_tokens=1) if r.step_ms]
    per_token += [r.h100_projected_ms for r in b.rows(base, n_tokens=1) if r.h100_projected_ms]
    if not per_step:
        return not_applicable("baseline_per_token", "the baseline has no N-token forward rows")
    findings = []
    for sec in PROSE:
        for n in numbers(ctx.report.section(sec) or ""):
            if not re.match(r"\s*ms\b", n.unit_after) or not any(x in n.sentence for x in names):
                continue
            forward = [r for v, r in per_step if matches(n.value, n.decimals, v, ctx.rel_tol)]
            if forward and not any(matches(n.value, n.decimals, v, ctx.rel_tol) for v in per_token):
                r = forward[0]
                findings.append(Finding(kind="step_vs_token", where=sec,
                                        message=f"'{n.text} ms' is one {r.n_tokens}-token forward of {names[0]} ({r.label} on "
                                                f"{r.hardware}), not its per-token decode: \"{n.sentence[:130]}\""))
    return result("baseline_per_token", findings, f"{len(per_step)} baseline forward step times vs {len(per_token)} per-token figures")
