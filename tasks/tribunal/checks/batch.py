"""The N tokens a diffusion step decodes in parallel belong to one sequence; they are not N users, requests or sequences.

The sweep times one sequence (batch size 1) whose block of N tokens is decoded together. Reading its per-token latency
as "the latency of 64 concurrent users", or the N parallel tokens as N independent requests, turns a
single-stream figure into a serving-capacity claim the run never measured. Saying that all N tokens are committed
each step (per-token cost = step time ÷ N) ignores the published tokens per step the run divides by. A sentence of the draft's own prose that
puts one of the asked N (or "N") in front of users, requests, sequences or prompts, or calls the parallel tokens
independent requests, is a critical finding; a negation ("not 64 users") lets it go. The words are data
(conf/tribunal/lexicon.yaml ``batch_words``).
"""

from __future__ import annotations

import re

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import lexicon
from tasks.tribunal.checks.prose import negated_before, sentences

SECTIONS = ("Abstract", "Introduction", "Results", "Discussion", "Limitations", "Conclusion")


def _patterns(tokens: list[int]) -> list[re.Pattern]:
    words = "|".join(map(re.escape, lexicon().get("batch_words", ["users", "requests", "sequences", "prompts"])))
    ns = "|".join(["N"] + [str(n) for n in tokens])
    counted = rf"\b(?:{ns})(?:\s+or\s+(?:{ns}))?\s+(?:concurrent|independent|simultaneous|separate|parallel|different)?\s*(?:{words})\b"
    called = rf"\bparallel tokens\b[^.;]{{0,40}}?\b(?:independent|separate|different|concurrent)\s+(?:{words})\b"
    every = rf"\ball\s+(?:the\s+)?(?:{ns})\s+(?:parallel\s+)?tokens\s+(?:are|get|were)\s+(?:committed|accepted|finali[sz]ed)"
    return [re.compile(counted), re.compile(called, re.I), re.compile(every, re.I), re.compile(r"step\s+time\s*÷\s*N\b")]


@register("tokens_not_batch", "skeptic", "are the N parallel tokens of one sequence kept apart from N users or requests?")
def tokens_not_batch(ctx: CheckContext) -> CheckResult:
    asked = getattr(ctx.bundle.question, "structured", None)
    tokens = list(getattr(asked, "parallel_tokens", None) or [])
    if ctx.report is None or not ctx.bundle.sweep or not tokens:
        return not_applicable("tokens_not_batch", "no report text" if ctx.report is None else "no parallel-token sweep")
    pats = _patterns(tokens)
    findings = []
    for section, s in sentences(ctx.report, SECTIONS, cited=True):  # a cited sentence still states the run's unit
        hit = next((m for p in pats for m in p.finditer(s) if not negated_before(s, m.start())), None)
        if hit:
            findings.append(Finding(kind="parallel_tokens_as_batch", where=section,
                                    message=f"'{hit.group(0)}': the run decodes N tokens of one sequence (batch size 1) and "
                                            f"commits the published tokens per step, not N users, requests or tokens: \"{s[:130]}\""))
    return result("tokens_not_batch", findings[:4], f"N = {tokens}")
