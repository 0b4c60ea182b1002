"""The report keeps the sections its run calls for, and states every uncertainty the run recorded.

A reader looks for the limitations, the uncertainties, the claims table and the references; deleting one hides what
the evidence cannot carry. Which sections a report must keep, given what its run holds (experiments, claims, papers,
recorded uncertainties), is data (conf/tribunal/lexicon.yaml ``required_sections``). Each uncertainty in the bundle (recorded by the flow or
by a revision round) must still be stated in the Uncertainties or Limitations section: most of its content words
present (an owner may reword it, not drop it). The question the introduction quotes must be the run's own.
"""

from __future__ import annotations

import re

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import lexicon

WORD = re.compile(r"[a-z0-9][a-z0-9.+-]*")
STOP = frozenset("a an the of on in to for and or is are was be by with from not but as at it its this that than "
                 "no only".split())
KEPT = 0.6


def _words(text: str) -> set[str]:
    return {w.strip(".") for w in WORD.findall(text.lower()) if w not in STOP and len(w) > 1}


def stated(uncertainty: str, text: str) -> bool:
    """Are most content words of ``uncertainty`` in ``text``?"""
    want = _words(uncertainty)
    return not want or len(want & _words(text)) / len(want) >= KEPT


def _flat(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _question_kept(ctx: CheckContext) -> list[Finding]:
    """The question the introduction quotes is the run's question (a changed model, GPU or N answers another one)."""
    intro = ctx.report.section("Introduction") or ""
    quoted = " ".join(ln.lstrip()[1:].strip() for ln in intro.splitlines() if ln.lstrip().startswith(">"))
    if not quoted or _flat(quoted) == _flat(ctx.bundle.question.text):
        return []
    return [Finding(kind="question_changed", where="Introduction",
                    message=f"the introduction quotes \"{quoted[:110]}\" but the run answered \"{ctx.bundle.question.text[:110]}\"")]


@register("sections_complete", "validator", "does the report keep its sections and state every uncertainty the run recorded?")
def sections_complete(ctx: CheckContext) -> CheckResult:
    if ctx.report is None:
        return not_applicable("sections_complete", "no report text")
    need, b = lexicon().get("required_sections") or {}, ctx.bundle
    has = {"always": True, "experimental": ctx.experimental, "claims": bool(b.claims), "papers": bool(b.papers),
           "uncertainties": bool(b.uncertainties)}
    wanted = [name for when, names in need.items() if has.get(when) for name in names]
    findings = [Finding(kind="missing_section", where="report", message=f"the report has no '{name}' section")
                for name in wanted if not ctx.report.has(name)]
    findings += _question_kept(ctx)
    told = " ".join(ctx.report.section(n) or "" for n in ("Uncertainties", "Limitations"))
    for u in ctx.bundle.uncertainties:
        if not stated(u.text, told):
            findings.append(Finding(kind="uncertainty_dropped", where="Uncertainties",
                                    message=f"the run recorded the uncertainty \"{u.text[:120]}\" but the report no longer "
                                            "states it"))
    return result("sections_complete", findings[:8], f"{len(wanted)} sections and {len(ctx.bundle.uncertainties)} "
                  "recorded uncertainties looked for")
