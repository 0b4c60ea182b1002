"""Independence: a claim counts as verified only when other papers corroborate it or our own measurements do.

A paper's own sentences can make a claim *faithful to its source*, never *corroborated*: the paper may say
anything about itself, including text injected to look like a verdict.
"""

from __future__ import annotations

from tasks.claims.records import Verdict


def verified_ids(independent: list[Verdict], empirical: list[Verdict]) -> set[str]:
    """Claim ids SUPPORTED by another paper's evidence (``corroborated``) or by a measured number of ours
    (projections do not count)."""
    return ({v.claim_id for v in independent if v.label == "SUPPORTED" and v.corroborated}
            | {v.claim_id for v in empirical if v.label == "SUPPORTED" and v.source == "measured"})


def headline(verdicts: list[Verdict], independent: list[Verdict], empirical: list[Verdict]) -> dict[str, int]:
    """The claim counts a run reports: verified (independent evidence only) next to faithful-to-source."""
    return {
        "claims_verified": len(verified_ids(independent, empirical)),
        "claims_faithful_to_source": sum(v.label == "SUPPORTED" and v.faithful is not False for v in verdicts),
        "claims_corroborated_by_other_papers": sum(v.label == "SUPPORTED" and v.corroborated for v in independent),
        "claims_measured_supported": sum(v.label == "SUPPORTED" and v.source == "measured" for v in empirical),
    }


def merge_corroboration(verdicts: list[Verdict], independent: list[Verdict]) -> list[Verdict]:
    """The verdict the draft relies on, marked ``corroborated`` where the other-papers pass SUPPORTED the same claim.

    The other papers' evidence and rationale are appended, so whoever reads the verdict (the report, the tribunal)
    sees which paper other than the claim's own bears it out. A claim its own paper leaves unsettled but another
    paper supports becomes SUPPORTED on that corroboration alone.
    """
    by_claim = {v.claim_id: v for v in independent if v.label == "SUPPORTED" and v.corroborated}
    merged = []
    for v in verdicts:
        other = by_claim.get(v.claim_id)
        if other is None or v.label == "CONTRADICTED" or v.failed:
            merged.append(v)
            continue
        merged.append(v.model_copy(update={
            "label": "SUPPORTED", "corroborated": True, "evidence": list(v.evidence) + list(other.evidence),
            "rationale": f"{v.rationale} Corroborated by other papers: {other.rationale}".strip(),
            "confidence": max(v.confidence, other.confidence)}))
    return merged
