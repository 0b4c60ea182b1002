"""The draft claims no more than its evidence gives: no proof, no universal scope, no uncertainty declared settled.

A sweep of a few models on one GPU, with routing from a fitted model, supports "in this run, X"; it does not prove a
law, hold "for every MoE" or "at any block size", carry over unchanged to other GPUs, or make the routing question
"settled". Such wording in the draft's own concluding prose (quoted paper text and sentences that cite a paper are
the papers' words) is a critical finding. The wording is data (conf/tribunal/lexicon.yaml ``overclaim``); a negation
just before a phrase ("does not prove", "cannot be ignored") lets it go.
"""

from __future__ import annotations

from functools import lru_cache

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import lexicon
from tasks.tribunal.checks.prose import negated_before, phrase_patterns, sentences

SECTIONS = ("Abstract", "Introduction", "Discussion", "Limitations", "Conclusion")
WHY = {"certainty": "claims proof or certainty", "generality": "generalises beyond the models and GPUs of the run",
       "settled": "declares an open uncertainty settled"}


@lru_cache(maxsize=1)
def _patterns() -> dict[str, list]:
    return {kind: phrase_patterns(words or []) for kind, words in (lexicon().get("overclaim") or {}).items()}


@register("no_overclaim", "skeptic", "does the prose claim no more certainty or generality than the evidence gives?")
def no_overclaim(ctx: CheckContext) -> CheckResult:
    if ctx.report is None:
        return not_applicable("no_overclaim", "no report text")
    own = sentences(ctx.report, SECTIONS, cited=False)
    findings = []
    for section, s in own:
        for kind, pats in _patterns().items():
            hit = next((m for p in pats for m in p.finditer(s) if not negated_before(s, m.start())), None)
            if hit:
                findings.append(Finding(kind="overclaim", where=section,
                                        message=f"'{hit.group(0)}' {WHY.get(kind, kind)}: \"{s[:140]}\""))
                break
    return result("no_overclaim", findings[:6], f"{len(own)} sentences of the draft's own prose read")
