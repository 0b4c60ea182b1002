"""A paper's words, quoted in the report, are the words of the paper the report credits.

The report quotes papers in three places: findings (``[id](link): "..."``), the abstract's best-supported findings
(``\\[id\\] ...``) and the claims table (a claim's text beside its source ``[id](link)``). Each quote must appear in the
credited paper's text (its title, abstract or extracted claims; quotes may be cut short, so a quote is a prefix or a
span of that text). A quote found only in another kept paper is misattributed; a quote found in no paper has been
changed (a number, a unit, a model) since it was copied. Both are critical: the reader trusts a quotation.
"""

from __future__ import annotations

import re

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result

FINDING = re.compile(r"\[(\d{4}\.\d{4,5})\]\([^)]*\):\s*\"([^\"]{30,})\"")
ABSTRACT_REF = re.compile(r"\\\[(\d{4}\.\d{4,5})\\\]\s+([^\\\n|]{30,}?)(?=\s*\\\[|\s*\||\n|$)")
CLAIM_ROW = re.compile(r"^\|\s*\d{4}\.\d{4,5}:c\d+\s*\|\s*([^|]{30,}?)\s*\|\s*\[(\d{4}\.\d{4,5})\]", re.M)
SKIP_SECTIONS = ("Tribunal",)


def _norm(text: str) -> str:
    text = text.replace("\\", "").replace("“", '"').replace("”", '"').replace("’", "'").replace("–", "-").replace("—", "-")
    text = re.sub(r"(?:…|\.\.\.)\s*$", "", text.strip())
    return " ".join(text.lower().split())


def _sources(ctx: CheckContext) -> dict[str, str]:
    texts: dict[str, list[str]] = {}
    for p in ctx.bundle.papers:
        texts.setdefault(p.arxiv_id, []).extend([p.title, p.abstract, f"{p.title}. {p.abstract}"])
    for c in ctx.bundle.claims:
        if c.source_id:
            texts.setdefault(c.source_id, []).append(c.claim.text)
    return {pid: " || ".join(_norm(t) for t in ts) for pid, ts in texts.items()}


def quotes(markdown: str) -> list[tuple[str, str]]:
    """(paper id, quoted text) for every quotation the report credits to a paper."""
    out = [(m.group(1), m.group(2)) for m in FINDING.finditer(markdown)]
    out += [(m.group(1), m.group(2)) for m in ABSTRACT_REF.finditer(markdown)]
    out += [(m.group(2), m.group(1)) for m in CLAIM_ROW.finditer(markdown)]
    return out


@register("quotes_faithful", "validator", "are the papers' words quoted as written, and credited to the paper that wrote them?")
def quotes_faithful(ctx: CheckContext) -> CheckResult:
    if ctx.report is None or not ctx.bundle.papers:
        return not_applicable("quotes_faithful", "no report text" if ctx.report is None else "no papers")
    text = "\n".join(body for title, body in ctx.report.sections.items() if not title.startswith(SKIP_SECTIONS))
    sources = _sources(ctx)
    found = quotes(text)
    findings = []
    for pid, quote in found:
        q = _norm(quote)
        if pid not in sources or q in sources[pid]:
            continue  # an unknown id is the references check's finding
        other = next((o for o, src in sources.items() if o != pid and q in src), None)
        if other:
            findings.append(Finding(kind="misattributed", where="report",
                                    message=f"a quote credited to arXiv {pid} is from arXiv {other}: \"{quote[:110]}\""))
        else:
            findings.append(Finding(kind="misquoted", where="report",
                                    message=f"a quote credited to arXiv {pid} is not in that paper's text (changed since it "
                                            f"was copied?): \"{quote[:110]}\""))
    return result("quotes_faithful", findings[:6], f"{len(found)} quotations checked against {len(sources)} papers")
