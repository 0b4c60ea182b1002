"""A published figure is credited to the paper it comes from.

A number tagged ``[published: <paper>, arXiv <id>]`` names its source. When the run knows where that value comes from
(the decoding setup's citation, a validation point's citation, the paper a claim was extracted from), one of those
sources must carry the same arXiv id; when it does not, the cited paper's abstract must contain the number. Crediting
LLaDA2.0's tokens per step to Fast-dLLM passes a reference check (both papers are in the run) and fails this one.
"""

from __future__ import annotations

import re

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.report_text import numbers
from tasks.tribunal.checks.values import bundle_values, trace

ARXIV = re.compile(r"\d{4}\.\d{4,5}")
SKIP = ("Claims", "References", "Tribunal")


def _in_abstract(printed: str, abstract: str) -> bool:
    return re.search(r"(?<![\d.])" + re.escape(printed) + r"(?![\d])", abstract.replace(",", "")) is not None


@register("published_attribution", "validator", "is each published figure credited to the paper it comes from?")
def published_attribution(ctx: CheckContext) -> CheckResult:
    if ctx.report is None:
        return not_applicable("published_attribution", "no report text")
    values = [v for v in bundle_values(ctx.bundle) if v.kind == "published"]
    papers = {p.arxiv_id: p for p in ctx.bundle.papers}
    findings, checked = [], 0
    for title, body in ctx.report.sections.items():
        if title.startswith(SKIP) or "\n### " in body:  # a '##' section with subsections is read through them
            continue
        for n in numbers(body):
            cited = ARXIV.findall(n.tag[1]) if n.tag and n.tag[0] == "published" else []
            if not cited:
                continue
            checked += 1
            found = trace(n.value, n.decimals, values, ctx.rel_tol, n.unit)
            known = [v for v in found if ARXIV.search(v.source)]
            if known:
                if not any(c in v.source for v in known for c in cited):
                    findings.append(Finding(kind="misattributed", where=title,
                                            message=f"'{n.text}' is credited to arXiv {', '.join(cited)} but the run has it from "
                                                    f"{known[0].source[:80]}: \"{n.sentence[:110]}\""))
            elif all(c in papers for c in cited) and not any(_in_abstract(n.text, papers[c].abstract) for c in cited):
                others = [pid for pid, p in papers.items() if pid not in cited and _in_abstract(n.text, p.abstract)]
                if others:
                    findings.append(Finding(kind="misattributed", where=title,
                                            message=f"'{n.text}' is credited to arXiv {', '.join(cited)}, whose abstract does not "
                                                    f"give it; arXiv {others[0]} does: \"{n.sentence[:110]}\""))
    return result("published_attribution", findings[:5], f"{checked} numbers with a cited paper checked")
