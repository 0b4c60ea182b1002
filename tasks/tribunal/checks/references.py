"""Every paper the report cites is one the run retrieved or one the configuration names as a source.

The report's arXiv ids (References, inline links, ``[published: ..., arXiv X]`` tags) must each be a kept paper of
the bundle, the source of an extracted claim, or an id written in the project's data files (conf/model, conf/decoding,
conf/validation, the tribunal lexicon's defining papers). Anything else is a reference no stage of the run ever read:
a fabricated or hand-added citation, which an expert would reject the draft for.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import CONF

# An arXiv id (new style, optional version) where the text says it is one: 'arXiv:2401.04088', 'arXiv 2401.04088v2',
# 'arxiv.org/abs/2401.04088', '[2401.04088](...)', '\[2401.04088\]'.
ARXIV = re.compile(r"(?:arxiv(?:\.org/(?:abs|pdf)/|:\s*|\s+)|\\?\[)(\d{4}\.\d{4,5})(?:v\d+)?", re.I)
SOURCE_GROUPS = ("model", "decoding", "validation", "routing", "hardware", "tribunal", "question")


@lru_cache(maxsize=1)
def configured_ids() -> frozenset[str]:
    """arXiv ids written anywhere in the configuration's data files (sources of specs and published figures)."""
    ids: set[str] = set()
    for group in SOURCE_GROUPS:
        for path in sorted((CONF / group).glob("*.yaml")):
            try:
                ids |= set(re.findall(r"\b(\d{4}\.\d{4,5})\b", path.read_text()))
            except OSError:
                continue
    return frozenset(ids)


def known_ids(ctx: CheckContext) -> set[str]:
    b = ctx.bundle
    ids = {p.arxiv_id for p in b.papers if getattr(p, "arxiv_id", None)}
    ids |= {c.claim.source_id for c in b.claims if c.claim.source_id}
    ids |= {e.paper_id for c in b.claims if c.verdict for e in c.verdict.evidence if e.paper_id}
    ids |= set(re.findall(r"\d{4}\.\d{4,5}", " ".join(v.citation for v in b.validation)))
    return {i.split("v")[0] for i in ids} | configured_ids()


def cited_ids(markdown: str) -> dict[str, str]:
    """arXiv id -> the line it is first cited on."""
    out: dict[str, str] = {}
    for line in markdown.splitlines():
        for m in ARXIV.finditer(line):
            out.setdefault(m.group(1), line.strip())
    return out


@register("references_known", "validator", "is every cited paper one the run retrieved or the configuration names?")
def references_known(ctx: CheckContext) -> CheckResult:
    if ctx.report is None:
        return not_applicable("references_known", "no report text")
    cited = cited_ids(ctx.report.markdown)
    if not cited:
        return not_applicable("references_known", "the report cites no arXiv paper")
    known = known_ids(ctx)
    unknown = [i for i in cited if i not in known]
    refs = ctx.report.section("References") or ""
    findings = [Finding(kind="unknown_reference", where="References" if i in refs else "report",
                        message=f"arXiv {i} is cited but is not among the run's papers or the configured sources "
                                f"(fabricated or never read): \"{cited[i][:120]}\"") for i in unknown]
    return result("references_known", findings, f"{len(cited) - len(unknown)}/{len(cited)} cited arXiv ids known to the run")
