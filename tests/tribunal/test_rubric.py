"""Rubric items of the three roles on crafted bundles, and the revision round."""

from __future__ import annotations

import bundles as B
import pytest

from tasks.tribunal.bundle import SweepRow
from tasks.tribunal.engine import review_rounds, rubric_ruling, sequential_review
from tasks.tribunal.records import PointRequest
from tasks.tribunal.settings import TribunalSettings

S = TribunalSettings()


def items(ruling) -> dict:
    return {i.key: i for i in ruling.items}


def test_skeptic_flags_projected_only_numbers_and_their_disclosure():
    r = items(rubric_ruling("skeptic", B.bundle(), S))
    assert not r["measured_not_projected"].passed
    assert "0 measured / 12 rows" in r["measured_not_projected"].evidence
    assert not r["disclosed_projected"].passed
    assert items(rubric_ruling("skeptic", B.bundle(uncertainties=B.disclosed("projected")), S))["disclosed_projected"].passed


def test_skeptic_flags_h200_measured_when_h100_asked_and_noisy_timings():
    ruling = rubric_ruling("skeptic", B.measured_bundle(spread=0.12), S)
    r = items(ruling)
    assert r["measured_not_projected"].passed
    assert not r["hardware_matches_question"].passed and "h200" in r["hardware_matches_question"].evidence
    assert any("H200" in f and "H100" in f for f in ruling.findings)
    assert not r["timing_noise"].passed and "0.12" in r["timing_noise"].evidence
    assert items(rubric_ruling("skeptic", B.measured_bundle(spread=0.01), S))["timing_noise"].passed


def test_skeptic_claims_baseline_papers_routing():
    ruling = rubric_ruling("skeptic", B.bundle(papers=[B.paper(1)], sweep=B.sweep_rows(baseline=False)), S)
    r = items(ruling)
    assert not r["no_contradicted_claims_in_text"].passed and r["no_contradicted_claims_in_text"].critical
    assert "c2" in r["no_contradicted_claims_in_text"].evidence and "e0" in r["no_contradicted_claims_in_text"].evidence
    assert not r["no_unverified_claims_as_fact"].passed
    assert not r["baseline_present"].passed
    assert not r["enough_papers"].passed and "1 kept" in r["enough_papers"].evidence
    assert not r["routing_from_traces"].passed
    kinds = {rev.kind for rev in ruling.revisions}
    assert {"drop_claims", "soften_claims", "add_uncertainty", "manual"} <= kinds
    traced = B.bundle(sweep=B.sweep_rows(routing="trace"))
    assert items(rubric_ruling("skeptic", traced, S))["routing_from_traces"].passed


def test_validator_answers_each_part_with_number_and_source():
    ruling = rubric_ruling("validator", B.bundle(), S)
    r = items(ruling)
    for key in ("scaling_with_n", "tokens_64_vs_128", "latency", "bandwidth_utilisation", "baseline_comparison",
                "claims_verified", "reproducible"):
        assert r[key].passed, (key, r[key].evidence)
    row = B.bundle().best_row("llada2_mini", 64, "h100_sxm")
    assert f"{row.step_ms:.4g}" in r["latency"].evidence and "projected, run runllada" in r["latency"].evidence
    assert "llama2_70b" in r["baseline_comparison"].evidence
    assert not r["question_models_covered"].passed  # llada2_flash is asked but not swept


def test_validator_missing_128_and_provenance_request_points():
    rows = [x for x in B.sweep_rows() if x.n_tokens != 128]
    ruling = rubric_ruling("validator", B.bundle(sweep=rows), S)
    r = items(ruling)
    assert not r["tokens_64_vs_128"].passed
    wanted = {(p.model, p.n_tokens) for rev in ruling.revisions if rev.kind == "add_points" for p in rev.points}
    assert ("llada2_mini", 128) in wanted and ("llama2_70b", 128) in wanted
    no_prov = B.measured_bundle(gpu_provenance=None)
    assert not items(rubric_ruling("validator", no_prov, S))["reproducible"].passed


def test_synthesizer_answer_carries_bundle_numbers():
    b = B.bundle()
    ruling = rubric_ruling("synthesizer", b, S)
    u64, u128 = b.best_row("llada2_mini", 64), b.best_row("llada2_mini", 128)
    assert f"{u64.unique_experts_mean:.4g}" in ruling.answer and f"{u128.unique_experts_mean:.4g}" in ruling.answer
    assert f"{b.best_row('llama2_70b', 64, 'h100_sxm').step_ms:.4g} ms" in ruling.answer
    assert "projections" in ruling.answer
    assert items(ruling)["answer_latency"].passed and not items(ruling)["uncertainties_stated"].passed


def weak_bundle():
    """Below threshold: 2 papers, no baseline, contradicted claims stated, nothing disclosed."""
    return B.bundle(papers=[B.paper(1), B.paper(2)], sweep=B.sweep_rows(baseline=False, tokens=[64, 128]), growth=[])


def baseline_points(requests: list[PointRequest]) -> list[SweepRow]:
    full = {(r.model, r.n_tokens): r for r in B.sweep_rows(tokens=[1, 8, 16, 32, 64, 128, 256]) if r.hardware == "h100_sxm"}
    return [full[(p.model, p.n_tokens)] for p in requests if (p.model, p.n_tokens) in full]


def test_revision_triggers_below_threshold_and_improves_score():
    calls = []

    def add_points(requests):
        calls.append(requests)
        return baseline_points(requests)

    outcome = review_rounds(weak_bundle(), S, sequential_review(S), add_points=add_points)
    first, second = outcome.rounds[0], outcome.rounds[1]
    assert first.aggregate < 6.5
    assert first.applied, "a revision round must run below the threshold"
    assert second.aggregate > first.aggregate
    assert second.score("skeptic") > first.score("skeptic")
    assert calls and any(p.model == "llama2_70b" for req in calls for p in req)
    revised = outcome.bundle
    assert all(c.disposition == "dropped" for c in revised.claims if c.label == "CONTRADICTED")
    assert all(c.disposition == "softened" for c in revised.claims if c.label == "NOT_ENOUGH_INFO")
    assert revised.has_topic("few_papers") and revised.has_topic("projected")
    assert revised.rows("llama2_70b", 64)
    assert outcome.revisions_applied == sum(len(r.applied) for r in outcome.rounds)


def test_revision_without_callback_skips_points_but_still_revises():
    outcome = review_rounds(weak_bundle(), S, sequential_review(S), add_points=None)
    assert any("no add_points callback" in s for s in outcome.rounds[0].skipped)
    assert outcome.rounds[1].aggregate > outcome.rounds[0].aggregate
    assert not outcome.bundle.rows("llama2_70b")


def test_failing_callback_is_recorded_not_raised():
    def broken(_):
        raise RuntimeError("GPU gone")

    outcome = review_rounds(weak_bundle(), S, sequential_review(S), add_points=broken)
    assert any("GPU gone" in s for s in outcome.rounds[0].skipped)


@pytest.mark.parametrize("role", ["skeptic", "validator", "synthesizer"])
def test_rulings_are_deterministic(role):
    assert rubric_ruling(role, B.bundle(), S) == rubric_ruling(role, B.bundle(), S)
