"""Results the draft presents as its own rest on a quantity some run produced; corroboration is claimed only when
independent evidence exists.

A sentence tagged ``[measured: ...]``, worded as the draft's own finding ("our runs confirm ..."), or of the draft's own
voice about a model of the run (it names one and cites no paper: "it matches Llama-2-70B's quality"), that speaks of
a quantity no record of the evidence bundle holds (energy, power, accuracy, perplexity ...; the list maps each word to
the field-name stems that would hold it, conf/tribunal/quantities.yaml) asserts a result nobody measured. Whether a
quantity is held is read from the bundle's own schema and its verdict metrics, not from any one report. A sentence
that calls a claim corroborated or independently verified, when the bundle has no claim with independent evidence
(tasks/tribunal/checks/claims.py), overstates the literature support.
"""

from __future__ import annotations

import re

from tasks.provenance import TAG_RE
from tasks.tribunal.bundle import (FeasibilityRow, GrowthRow, SensitivityRow, SweepRow, TokenLatencyRow,
                                   ValidationRow)
from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.bounds import quantities
from tasks.tribunal.checks.claims import independent
from tasks.tribunal.checks.lexicon import has_any
from tasks.tribunal.checks.prose import CITES
from tasks.tribunal.checks.scope import run_models

PROSE = ("Abstract", "Introduction", "Results", "Discussion", "Limitations", "Conclusion")
RECORDS = (SweepRow, TokenLatencyRow, SensitivityRow, FeasibilityRow, ValidationRow, GrowthRow)
CORROBORATED = re.compile(r"\b(?:corroborated|independently (?:verified|confirmed|supported|replicated)|"
                          r"confirmed by independent|independent evidence (?:confirms|supports|shows))\b", re.I)
NEGATION = re.compile(r"\b(?:no|none|not|never|without|nor|neither|lack|lacks|0|zero|unverified|cannot)\b", re.I)


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[a-z0-9)\]*][.!?])\s+|\n+", text) if s.strip()]


def held_stems(ctx: CheckContext) -> str:
    """Field names of the bundle's records and the metrics of its verdicts, as one lower-case string."""
    names = [f for rec in RECORDS for f in rec.model_fields]
    names += [c.verdict.metric for c in ctx.bundle.claims if c.verdict and c.verdict.metric]
    return " ".join(names).lower()


def _unheld(sentence: str, held: str) -> str | None:
    low = TAG_RE.sub(" ", sentence).lower()
    for word, stems in (quantities().get("quantities") or {}).items():
        if re.search(rf"\b{re.escape(word.lower())}", low) and not any(s.lower() in held for s in stems or [word]):
            return word
    return None


@register("results_supported", "validator", "does every result the draft presents as its own rest on a quantity a run "
          "produced, and is corroboration claimed only on independent evidence?")
def results_supported(ctx: CheckContext) -> CheckResult:
    if ctx.report is None:
        return not_applicable("results_supported", "no report text")
    held = held_stems(ctx)
    own = quantities().get("own_result", [])
    n_indep = sum(independent(c) for c in ctx.bundle.claims)
    models = [m.lower() for m in run_models(ctx)]
    stats = quantities().get("statistics_words", [])
    findings, seen = [], 0
    for sec in PROSE:
        for s in _sentences(ctx.report.section(sec) or ""):
            seen += 1
            tags = [m.group(1) for m in TAG_RE.finditer(s)]
            uncited = not CITES.search(s)
            about_run = uncited and (any(m in s.lower() for m in models) or has_any(s, stats))
            mine = "measured" in tags or has_any(s, own) or about_run
            word = _unheld(s, held) if mine else None
            if word:
                findings.append(Finding(kind="unsupported_result", where=sec,
                                        message=f"presents {word} as the run's own result, but no run measured or modelled "
                                                f"{word}: \"{s.strip()[:130]}\""))
            m = CORROBORATED.search(s)
            if m and not NEGATION.search(s[max(0, m.start() - 60):m.end()]) and n_indep == 0 and ctx.bundle.claims:
                findings.append(Finding(kind="self_supported_claim", where=sec,
                                        message=f"says a claim is corroborated, but no claim of the run has independent "
                                                f"evidence: \"{s.strip()[:130]}\""))
    return result("results_supported", findings, f"{seen} sentences checked; {n_indep} claims independently supported")
