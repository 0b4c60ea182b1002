"""results_supported: own results rest on a quantity a run produced; corroboration only on independent evidence."""

from __future__ import annotations

import bundles as B
from checkhelp import kinds, run


def _doc(s: str) -> str:
    return f"# R\n\n## Discussion\n\n{s}\n\n## Conclusion\n\nDone.\n"


def test_measured_latency_and_published_accuracy_pass():
    b = B.substantive()
    text = _doc("Our runs show the step takes 4.1 ms [measured: NVIDIA H200]. TEAM keeps 99% of the accuracy "
                "[published: TEAM, arXiv 2501.00002]. No claim is independently corroborated.")
    assert run("results_supported", b, text).passed


def test_an_unmeasured_quantity_presented_as_our_result_is_flagged():
    b = B.substantive()
    assert "unsupported_result" in kinds(run("results_supported", b, _doc("Power draw falls 12% at N=128 [measured: NVIDIA H200].")))
    assert "unsupported_result" in kinds(run("results_supported", b, _doc("Our measurements show that perplexity is unchanged at N=128.")))


def test_corroboration_claimed_without_independent_evidence_is_flagged():
    b = B.substantive(claims=[c.model_copy(update={"verdict": c.verdict.model_copy(update={"label": "NOT_ENOUGH_INFO"})})
                              for c in B.substantive().claims])
    res = run("results_supported", b, _doc("The 2.2x speed-up of TEAM is independently confirmed by two other papers."))
    assert "self_supported_claim" in kinds(res)
