"""A factor stated against the baseline ("23× below the baseline's decode", "3x faster than Llama-2-70B") agrees with
the run's latencies per committed token, in direction and in size.

The run holds the question models' and the baseline's per-token latencies (with their routing bands). A factor "k×"
followed by a direction word and then the baseline (by name or as "the baseline") must point the way the latencies do
(lower latency / faster / below when the model's per-token latency is under the baseline's), and k must be one of the
ratios of those latencies, within 15% (of the two latencies the sentence itself states, when it states two).
Throughput words ("tokens per second") turn the direction round.
"""

from __future__ import annotations

import re

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.prose import sentences
from tasks.tribunal.checks.report_text import numbers

SECTIONS = ("Abstract", "Introduction", "Results", "Discussion", "Conclusion")
FACTOR = re.compile(r"(\d+(?:\.\d+)?)\s*(?:×|x\b|-fold\b|times\b)\s*(?:(?:the|a|an)\s+)?"
                    r"(lower|higher|faster|slower|below|above|less|more|smaller|larger|greater|cheaper|costlier|better|worse)\b"
                    r"((?:\s+[\w-]+){0,3})", re.I)
BETTER = {"lower", "faster", "below", "less", "smaller", "cheaper", "better"}
THROUGHPUT = re.compile(r"throughput|tokens?\s*(?:per|/)\s*s|tok/s", re.I)
TOLERANCE = 0.15


def _latencies(ctx: CheckContext) -> tuple[list[float], list[float]]:
    b = ctx.bundle
    base = getattr(b.asked, "baseline", None)
    moe, ref = [], []
    for t in b.token_latency:
        vals = [v for v in (t.per_token_ms, t.per_token_ms_low, t.per_token_ms_high) if v]
        (ref if t.model == base else moe).extend(vals)
    moe += [v for s in b.sensitivity for v in (s.per_token_ms_low, s.per_token_ms_high) if v]
    return moe, ref


def _sentence_ratios(s: str) -> list[float]:
    """Ratios of the millisecond figures a sentence itself states (its factor must be one of them, when it gives two)."""
    ms = sorted({n.value for n in numbers(s) if n.unit == "ms" and n.value > 0})
    return [b / a for i, a in enumerate(ms) for b in ms[i + 1:]] if len(ms) >= 2 else []


@register("baseline_factor", "skeptic", "do the factors stated against the baseline match the run's per-token latencies "
          "in direction and size?")
def baseline_factor(ctx: CheckContext) -> CheckResult:
    moe, ref = _latencies(ctx)
    names = [x for x in (getattr(ctx.bundle.asked, "baseline_name", None), "baseline") if x]
    if ctx.report is None or not moe or not ref:
        return not_applicable("baseline_factor", "no report text" if ctx.report is None else "no per-token latencies to compare")
    faster = max(moe) < min(ref)
    slower = min(moe) > max(ref)
    ratios = [r / m for r in ref for m in moe] + [m / r for r in ref for m in moe]
    findings = []
    for section, s in sentences(ctx.report, SECTIONS, cited=True):
        for m in FACTOR.finditer(s):
            if not any(n.lower() in s[m.end(2):].lower() for n in names):
                continue
            k, word = float(m.group(1)), m.group(2).lower()
            says_better = (word in BETTER) != bool(THROUGHPUT.search(m.group(3) or ""))
            if (faster and not says_better) or (slower and says_better):
                findings.append(Finding(kind="factor_direction", where=section,
                                        message=f"'{m.group(0).strip()}' against the baseline, but per committed token the run "
                                                f"is {'faster' if faster else 'slower'}: \"{s[:130]}\""))
            elif k > 1 and (own := _sentence_ratios(s)) and not any(abs(k - r) <= TOLERANCE * r for r in own):
                findings.append(Finding(kind="factor_untraced", where=section,
                                        message=f"'{m.group(0).strip()}', but the latencies the sentence itself gives differ by "
                                                f"{min(own, key=lambda r: abs(k - r)):.3g}× at the nearest: \"{s[:130]}\""))
            elif k > 1 and not any(abs(k - r) <= TOLERANCE * r for r in ratios):
                near = min(ratios, key=lambda r: abs(k - r))
                findings.append(Finding(kind="factor_untraced", where=section,
                                        message=f"'{m.group(0).strip()}': no pair of the run's per-token latencies gives "
                                                f"{k:g}× (nearest {near:.3g}×): \"{s[:130]}\""))
    return result("baseline_factor", findings[:5], f"{len(moe)} model and {len(ref)} baseline per-token latencies; "
                  f"the model is {'faster' if faster else 'slower' if slower else 'mixed'} per committed token")
