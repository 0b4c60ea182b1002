"""How the report counts claims: independent support (other papers, our measurements) apart from a paper's own word.

A claim extracted from a paper is, almost by construction, borne out by that paper's own sentence; that makes it
*attributed*, not verified. The headline therefore counts only claims that another paper corroborates or that our
own measurements support, with the same definition the tribunal checks (``tasks.tribunal.checks.claims.independent``).
"""

from __future__ import annotations

from tasks.tribunal.bundle import ClaimRow, EvidenceBundle
from tasks.tribunal.checks.claims import independent


def support_basis(row: ClaimRow) -> str:
    """What a claim's verdict rests on, in words for the claims table."""
    v = row.verdict
    if v is None:
        return "no verdict"
    if v.metric:
        return f"our {v.source or 'modelled'} run"
    if v.label == "SUPPORTED":
        return "corroborated by another paper" if independent(row) else "its own paper only"
    return {"CONTRADICTED": "contradicting evidence", "NOT_ENOUGH_INFO": "unsettled"}.get(v.label, v.label)


def claims_sentence(bundle: EvidenceBundle, retrieved: bool = False) -> str:
    """One sentence for the abstract: corroborated, attributed-only, contradicted and unsettled counts."""
    rows = bundle.claims
    verified = sum(independent(c) for c in rows)
    own_only = sum(c.label == "SUPPORTED" and not independent(c) for c in rows)
    contradicted = sum(c.label == "CONTRADICTED" for c in rows)
    unsettled = sum(c.label == "NOT_ENOUGH_INFO" for c in rows)
    papers = f"{bundle.papers_kept} papers" + (f" (of {bundle.papers_retrieved} retrieved)" if retrieved else "")
    return (f"From {papers} we extracted {len(rows)} claims: {verified} corroborated by another paper or by our own "
            f"measurements; {own_only} are borne out only by the paper that makes them (attributed to it, not independently "
            f"verified); {contradicted} contradicted and {unsettled} could not be settled by the {bundle.verifier} verifier.")


def ordered_findings(bundle: EvidenceBundle) -> list[ClaimRow]:
    """SUPPORTED claims stated as fact, independently supported ones first, then in relevance order."""
    stated = [c for c in bundle.claims if c.label == "SUPPORTED" and c.disposition == "stated"]
    return sorted(stated, key=lambda c: not independent(c))
