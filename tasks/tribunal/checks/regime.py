"""What the prose says bounds a step (memory bandwidth or compute) agrees with the run's roofline rows.

Each roofline row of the sweep records its bound ('memory' or 'compute'). A clause of the draft's own prose that calls a
step compute-bound (or memory-bound) is read for whose step it means: the baseline's when the phrase's own subject
(the words since the last comma, "because" or "since") names the baseline or "dense", the question models' otherwise. When none of that side's rows at the asked N has that bound, the
clause contradicts the run's own roofline. A negation ("is not compute-bound") turns the phrase round.
"""

from __future__ import annotations

import re

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.prose import negated_before, sentences

SECTIONS = ("Abstract", "Introduction", "Results", "Discussion", "Limitations", "Conclusion")
BOUND = re.compile(r"\b(compute|memory|bandwidth)[- ](?:bound|limited)\b|\blimited by (?:the )?(compute|memory bandwidth|bandwidth|tensor cores?)\b", re.I)
CLAUSE = re.compile(r";|,\s(?:while|whereas|but)\s|\s(?:while|whereas)\s")
SUBJECT_START = re.compile(r".*(?:,|\bbecause\b|\bsince\b|\bas\b|\(|\bso\b)", re.S)  # the phrase's own subject follows the last of these


def _bounds(ctx: CheckContext, baseline: bool) -> set[str]:
    b = ctx.bundle
    asked = getattr(b.question, "structured", None)
    base = getattr(asked, "baseline", None)
    tokens = set(getattr(asked, "parallel_tokens", None) or [r.n_tokens for r in b.rows()])
    return {r.bound for r in b.rows() if r.bound and (r.model == base) == baseline and (baseline or r.n_tokens in tokens)}


@register("regime_consistent", "skeptic", "does the prose name the bound (memory or compute) the run's roofline gives?")
def regime_consistent(ctx: CheckContext) -> CheckResult:
    moe, dense = _bounds(ctx, False), _bounds(ctx, True)
    if ctx.report is None or not (moe or dense):
        return not_applicable("regime_consistent", "no report text" if ctx.report is None else "no roofline bounds in the run")
    asked = getattr(ctx.bundle.question, "structured", None)
    base_words = [w.lower() for w in (getattr(asked, "baseline_name", None), "baseline", "dense") if w]
    findings = []
    for section, s in sentences(ctx.report, SECTIONS, cited=False):
        for clause in CLAUSE.split(s):
            for m in BOUND.finditer(clause):
                said = (m.group(1) or m.group(2) or "").lower()
                said = "compute" if said.startswith(("compute", "tensor")) else "memory"
                if negated_before(clause, m.start()):
                    said = "memory" if said == "compute" else "compute"
                head = clause[:m.start()]
                cut = SUBJECT_START.match(head)
                subject = head[cut.end():] if cut else head
                baseline = any(w in subject.lower() for w in base_words)
                truth = dense if baseline else moe
                if truth and said not in truth:
                    whose = "the baseline's" if baseline else "the question models'"
                    findings.append(Finding(kind="regime_contradicts_results", where=section,
                                            message=f"says '{m.group(0)}' of {whose} step, but every such roofline row of the "
                                                    f"run is {'/'.join(sorted(truth))}-bound: \"{s[:130]}\""))
    return result("regime_consistent", findings[:5], f"question-model rows {sorted(moe) or '-'}; baseline rows {sorted(dense) or '-'}")
