"""Claims count as verified only on independent evidence; no contradicted claim stays in the text."""

from __future__ import annotations

import re

from tasks.tribunal.bundle import ClaimRow
from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import lexicon

CITED_CHUNK = re.compile(r"\(([^()\s#]+)#\d+\)")
PROSE = ("Abstract", "Introduction", "Discussion", "Conclusion")


def _other_paper_support(row: ClaimRow) -> bool:
    """Does the verdict's deciding evidence include a paper other than the claim's own?

    The deciding spans are the chunks the rationale cites (``(paper#n)``) when it cites any, else all its spans.
    """
    v, own = row.verdict, row.claim.source_id
    cited = set(CITED_CHUNK.findall(v.rationale or ""))
    if cited:
        return any(pid != own for pid in cited)
    return any(not e.is_claim_source and e.paper_id != own for e in v.evidence)


def legacy(row: ClaimRow) -> bool:
    """A textual verdict that does not say whose evidence decided it (verifiers before ``faithful``/``corroborated``)."""
    v = row.verdict
    return v is not None and not v.metric and getattr(v, "faithful", None) is None and not getattr(v, "corroborated", False) \
        and row.claim.source_id is not None


def independent(row: ClaimRow) -> bool:
    """SUPPORTED by our measurement, or corroborated by a paper other than the claim's own (its evidence agreeing)."""
    v = row.verdict
    if v is None or v.label != "SUPPORTED":
        return False
    if v.metric:
        return v.source == "measured"
    if getattr(v, "corroborated", False) or legacy(row):
        return _other_paper_support(row)
    return False


def counted_as_verified(row: ClaimRow) -> bool:
    """Does the draft count this claim as verified? A verdict flagged corroborated, or a legacy SUPPORTED verdict
    (which the flow counted as verified), stated as fact. A claim its own paper supports (``faithful``) is attributed,
    not verified, and may be reported as what that paper says."""
    v = row.verdict
    if v is None or v.label != "SUPPORTED" or row.disposition != "stated" or v.metric:
        return False
    return bool(getattr(v, "corroborated", False)) or legacy(row)


def counted_verified(ctx: CheckContext) -> list[tuple[int, str]]:
    """The verified/supported counts the draft's abstract and conclusion state, with the sentence."""
    pattern = re.compile(lexicon().get("verified_count", r"(\d+)\s+(supported|verified|corroborated)"), re.I)
    out = []
    for name in ("Abstract", "Conclusion"):
        body = (ctx.report.section(name) if ctx.report else None) or ""
        out += [(int(m.group(1)), m.group(0)) for m in pattern.finditer(body)]
    return out


@register("claims_independent", "validator", "are claims counted as verified only when independent evidence bears them out?")
def claims_independent(ctx: CheckContext) -> CheckResult:
    claims = ctx.bundle.claims
    if not claims:
        return not_applicable("claims_independent", "no claims")
    indep = [c for c in claims if independent(c)]
    self_only = [c for c in claims if counted_as_verified(c) and not independent(c)]
    findings = [Finding(kind="self_supported_claim", where="bundle.claims",
                        message=f"{c.claim.claim_id} is counted as verified but only its own paper supports it") for c in self_only[:8]]
    if len(self_only) > 8:
        findings.append(Finding(kind="self_supported_claim", where="bundle.claims", message=f"... and {len(self_only) - 8} more"))
    for count, text in counted_verified(ctx):
        if count > len(indep):
            findings.append(Finding(kind="self_supported_claim", where="report",
                                    message=f"the draft counts '{text}' but only {len(indep)} claims have independent evidence"))
    return result("claims_independent", findings, f"{len(indep)}/{len(claims)} claims independently supported; "
                  f"{len(self_only)} self-supported counted as verified")


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@register("no_contradicted_claim_in_text", "skeptic", "is every contradicted claim out of the draft's text?")
def no_contradicted_claim_in_text(ctx: CheckContext) -> CheckResult:
    contradicted = [c for c in ctx.bundle.claims if c.label == "CONTRADICTED"]
    if not contradicted:
        return not_applicable("no_contradicted_claim_in_text", "no contradicted claims")
    findings = [Finding(kind="contradicted_claim_in_text", where="bundle.claims",
                        message=f"{c.claim.claim_id} is CONTRADICTED but {c.disposition} in the text")
                for c in contradicted if c.disposition != "dropped"]
    if ctx.report is not None:
        prose = _words(" ".join(ctx.report.section(s) or "" for s in PROSE))
        for c in contradicted:
            words = _words(c.claim.text).split()
            probe = " ".join(words[:10])
            if len(words) >= 5 and probe in prose:
                findings.append(Finding(kind="contradicted_claim_in_text", where="report",
                                        message=f"{c.claim.claim_id} (CONTRADICTED) is stated in the report's prose: "
                                                f"\"{c.claim.text[:100]}\""))
    return result("no_contradicted_claim_in_text", findings, f"{len(contradicted)} contradicted claims, "
                  f"{sum(c.disposition == 'dropped' for c in contradicted)} dropped")
