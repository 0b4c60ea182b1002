"""The draft concludes, and its conclusion agrees with its results (direction of growth, faster or slower than the baseline)."""

from __future__ import annotations

import re

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.extrapolation import modelled_answer_models
from tasks.tribunal.checks.lexicon import has_any, lexicon


def _said(text: str, phrases: list[str]) -> str | None:
    """The first phrase said in ``text``; a comparative "... than" may carry a qualifier before "than"
    ("higher latency per committed token than")."""
    for phrase in phrases:
        words = phrase.lower().split()
        if words and words[-1] == "than" and len(words) > 1:
            pattern = r"\b" + r"\s+".join(map(re.escape, words[:-1])) + r"(?:\s+[\w\-/.]+){0,5}?\s+than\b"
        else:
            pattern = r"\b" + r"\s+".join(map(re.escape, words)) + r"\b"
        if re.search(pattern, text):
            return phrase
    return None


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def _truths(ctx: CheckContext) -> dict[str, bool]:
    """What the results say: do unique experts grow with N; is the MoE faster per committed token than the baseline."""
    b, out = ctx.bundle, {}
    asked = getattr(b.question, "structured", None)
    models = modelled_answer_models(b) or [r.model for r in b.rows() if not r.dense][:1]
    tokens = sorted(getattr(asked, "parallel_tokens", None) or [])
    if models and len(tokens) >= 2:
        lo, hi = b.best_row(models[0], tokens[0]), b.best_row(models[0], tokens[-1])
        if lo and hi and lo.unique_experts_mean is not None and hi.unique_experts_mean is not None:
            out["grows"] = hi.unique_experts_mean > lo.unique_experts_mean
    base = getattr(asked, "baseline", None)
    moe = [t for t in b.token_latency if t.model != base]
    ref = [t for t in b.token_latency if t.model == base]
    if moe and ref:
        out["faster"] = max(t.per_token_ms for t in moe if t.model == moe[0].model) < min(t.per_token_ms for t in ref)
    return out


@register("conclusion_consistent", "skeptic", "does the draft conclude, in agreement with its results?")
def conclusion_consistent(ctx: CheckContext) -> CheckResult:
    if ctx.report is None or not ctx.experimental:
        return not_applicable("conclusion_consistent", "no report text" if ctx.report is None else "no experimental results")
    body = ctx.report.section("Conclusion")
    if not body or not body.strip():
        return result("conclusion_consistent", [Finding(kind="no_conclusion", where="report",
                                                        message="the report has no conclusion answering the question")], "no conclusion")
    words = lexicon().get("direction", {})
    truth = _truths(ctx)
    asked = getattr(ctx.bundle.question, "structured", None)
    base_name = getattr(asked, "baseline_name", None) or ""
    findings = []
    for s in _sentences(body):
        low = s.lower()
        if "grows" in truth and "expert" in low:
            neg = has_any(low, words.get("growth_not", []))
            if truth["grows"] and neg:
                findings.append(Finding(kind="conclusion_contradicts_results", where="Conclusion",
                                        message=f"says '{neg}' of the experts, but the results grow with N: \"{s[:120]}\""))
        if "faster" in truth and (base_name.lower() in low or "baseline" in low):
            said_fast, said_slow = _said(low, words.get("faster", [])), _said(low, words.get("slower", []))
            if truth["faster"] and said_slow and not said_fast or not truth["faster"] and said_fast and not said_slow:
                findings.append(Finding(kind="conclusion_contradicts_results", where="Conclusion",
                                        message=f"says '{said_slow or said_fast}' against {base_name or 'the baseline'}, but per "
                                                f"committed token the results say {'faster' if truth['faster'] else 'slower'}: \"{s[:120]}\""))
    return result("conclusion_consistent", findings, f"conclusion of {len(_sentences(body))} sentences checked against {truth or 'nothing'}")
