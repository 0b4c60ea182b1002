"""The verdict the report relies on carries the other papers' corroboration, and the tribunal counts it as independent."""

from tasks.claims.independence import merge_corroboration
from tasks.claims.records import Claim, Evidence, Verdict
from tasks.tribunal.bundle import ClaimRow
from tasks.tribunal.checks.claims import independent

OWN = Evidence(paper_id="2401.00001", chunk_id="2401.00001#0", text="X cuts latency by 2x.", score=0.9, is_claim_source=True)
OTHER = Evidence(paper_id="2402.00002", chunk_id="2402.00002#1", text="X halves latency.", score=0.8)


def _verdict(label, evidence, rationale, **kw):
    return Verdict(claim_id="c1", label=label, confidence=0.7, verifier="hybrid", evidence=evidence, rationale=rationale, **kw)


def test_corroboration_from_other_papers_reaches_the_relied_verdict():
    own = _verdict("SUPPORTED", [OWN], "matches (2401.00001#0)", faithful=True)
    other = _verdict("SUPPORTED", [OTHER], "matches (2402.00002#1)", corroborated=True)
    [merged] = merge_corroboration([own], [other])
    assert merged.corroborated and merged.label == "SUPPORTED" and OTHER in merged.evidence
    row = ClaimRow(claim=Claim(claim_id="c1", text="X cuts latency by 2x.", source_id="2401.00001"), verdict=merged)
    assert independent(row)
    assert not independent(row.model_copy(update={"verdict": own}))  # its own paper alone is attribution, not verification


def test_own_paper_support_without_corroboration_and_contradictions_are_left_alone():
    own = _verdict("SUPPORTED", [OWN], "matches (2401.00001#0)", faithful=True)
    contra = _verdict("CONTRADICTED", [OWN], "number differs (2401.00001#0)")
    other_nei = _verdict("NOT_ENOUGH_INFO", [OTHER], "nothing (2402.00002#1)")
    other_sup = _verdict("SUPPORTED", [OTHER], "matches (2402.00002#1)", corroborated=True)
    assert merge_corroboration([own], [other_nei]) == [own]
    assert merge_corroboration([contra], [other_sup]) == [contra]
