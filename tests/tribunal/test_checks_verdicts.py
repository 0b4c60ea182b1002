"""empirical_verdicts_grounded: a verdict's basis is the quantity's true class; only measurements contradict papers."""

from __future__ import annotations

import bundles as B
from checkhelp import kinds, run


def _with_verdict(label: str, source: str, metric: str = "unique_experts_mean.exponent", disposition: str = "softened"):
    b = B.substantive()
    row = next(c for c in B.claim_rows() if c.claim.claim_id == "e0")
    row = row.model_copy(update={"disposition": disposition,
                                 "verdict": row.verdict.model_copy(update={"label": label, "source": source, "metric": metric})})
    return b.model_copy(update={"claims": list(b.claims) + [row]})


def test_a_modelled_verdict_that_says_so_passes():
    assert run("empirical_verdicts_grounded", _with_verdict("NOT_ENOUGH_INFO", "modelled"), None).passed


def test_a_modelled_quantity_relabelled_measured_is_flagged():
    res = run("empirical_verdicts_grounded", _with_verdict("SUPPORTED", "measured"), None)
    assert "verdict_basis_mislabelled" in kinds(res)


def test_a_contradiction_on_a_model_alone_is_flagged():
    res = run("empirical_verdicts_grounded", _with_verdict("CONTRADICTED", "modelled"), None)
    assert "contradicted_on_model" in kinds(res)
    measured = B.measured_bundle()
    b = _with_verdict("CONTRADICTED", "measured", metric="step_ms.ratio")
    b = b.model_copy(update={"sweep": measured.sweep, "gpu_provenance": measured.gpu_provenance})
    assert run("empirical_verdicts_grounded", b, None).passed


def _corroborated(own_only: bool):
    b = B.substantive()
    row = b.claims[0]
    ev = row.verdict.evidence
    if own_only:
        ev = [e.model_copy(update={"paper_id": row.claim.source_id, "is_claim_source": True}) for e in ev]
    v = row.verdict.model_copy(update={"corroborated": True, "evidence": ev, "rationale": "agrees"})
    return b.model_copy(update={"claims": [row.model_copy(update={"verdict": v})] + list(b.claims[1:])})


def test_corroboration_by_another_paper_passes():
    assert run("corroboration_grounded", _corroborated(own_only=False), None).passed


def test_corroboration_resting_on_the_claims_own_paper_is_flagged():
    assert "self_supported_claim" in kinds(run("corroboration_grounded", _corroborated(own_only=True), None))
