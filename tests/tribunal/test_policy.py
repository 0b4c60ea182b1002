"""Policy edges: the threshold is inclusive, max_rounds, escalation reasons, the weighted aggregate."""

from __future__ import annotations

import bundles as B
import pytest
from pydantic import ValidationError

from tasks.tribunal.engine import review_rounds, sequential_review
from tasks.tribunal.policy import aggregate_score, decide
from tasks.tribunal.records import OWNER_REVIEW, Revision, RoundRecord, RubricItem, Ruling
from tasks.tribunal.settings import TribunalSettings

S = TribunalSettings()


def rulings(skeptic: float, validator: float, synthesizer: float, critical_fail: bool = False) -> list[Ruling]:
    item = [RubricItem(key="no_contradicted_claims_in_text", question="q", passed=False, evidence="c1", critical=True)] if critical_fail else []
    return [Ruling(role="skeptic", score=skeptic, items=item), Ruling(role="validator", score=validator),
            Ruling(role="synthesizer", score=synthesizer, answer="a")]


def record(rs: list[Ruling], settings=S, n=0, merged=()) -> RoundRecord:
    return RoundRecord(round=n, rulings=rs, aggregate=aggregate_score(rs, settings), merged_revisions=list(merged))


def fixed_review(*scores):
    """A review function that returns the given (skeptic, validator, synthesizer) scores round after round."""
    it = iter(scores)

    def review(bundle, n):
        rs = rulings(*next(it))
        rev = Revision(kind="add_uncertainty", topic="other", statement=f"stated in round {n}", text="state it")
        return [rs[0].model_copy(update={"revisions": [rev]})] + rs[1:]

    return review


def test_aggregate_is_the_documented_weighted_mean():
    assert aggregate_score(rulings(5, 8, 10), S) == pytest.approx((0.4 * 5 + 0.4 * 8 + 0.2 * 10) / 1.0)
    only_skeptic = TribunalSettings(weights={"skeptic": 1, "validator": 0, "synthesizer": 0})
    assert aggregate_score(rulings(3.3, 9, 9), only_skeptic) == 3.3


def test_exactly_threshold_accepts_and_keeps_the_banner():
    policy = decide([record(rulings(6.5, 6.5, 6.5))], S)
    assert policy.aggregate == 6.5
    assert policy.decision == "ACCEPT"
    assert policy.banner == OWNER_REVIEW == "Autonomous draft — owner review required"
    assert "owner" in policy.reasons[0]


def test_just_below_threshold_escalates_with_reason():
    policy = decide([record(rulings(6.49, 6.49, 6.49))], TribunalSettings(max_rounds=0))
    assert policy.decision == "ESCALATE_TO_OWNER"
    assert "6.49 < threshold 6.50" in policy.reasons[0] and "max_rounds=0 reached" in policy.reasons[0]


def test_max_rounds_reached_escalates_and_stops_revising():
    settings = TribunalSettings(max_rounds=2)
    outcome = review_rounds(B.bundle(papers=[B.paper(1)]), settings, fixed_review((4, 5, 5), (4.5, 5, 5), (5, 5, 5), (9, 9, 9)))
    assert [r.round for r in outcome.rounds] == [0, 1, 2]  # the 4th score set is never asked for
    assert outcome.rounds[-1].applied == [] and len(outcome.rounds[0].applied) == 1
    assert [u.text for u in outcome.bundle.uncertainties] == ["stated in round 0", "stated in round 1"]
    assert outcome.policy.decision == "ESCALATE_TO_OWNER" and outcome.policy.rounds == 2
    assert "max_rounds=2 reached" in outcome.policy.reasons[0]


def test_no_automatable_revision_left_escalates_early():
    b = B.bundle(uncertainties=B.disclosed("projected", "synthetic_routing", "snapshot_retrieval"),
                 claims=[c.model_copy(update={"disposition": "dropped"}) for c in B.claim_rows()])
    outcome = review_rounds(b, S, lambda bundle, n: rulings(3, 3, 3))
    assert len(outcome.rounds) == 1
    assert "no automatable revision left" in outcome.policy.reasons[0]


def test_critical_failure_escalates_even_above_threshold():
    policy = decide([record(rulings(9, 9, 9, critical_fail=True))], S)
    assert policy.decision == "ESCALATE_TO_OWNER"
    assert any(r.startswith("critical skeptic item failed") for r in policy.reasons)


def test_manual_revisions_and_backend_warnings_are_reasons_when_escalating():
    manual = Revision(kind="manual", automatable=False, text="measure on an H100")
    policy = decide([record(rulings(2, 2, 2), merged=[manual])], S, warnings=["skeptic: LLM output unusable"])
    assert "needs the owner: measure on an H100" in policy.reasons
    assert "backend warning: skeptic: LLM output unusable" in policy.reasons
    assert decide([record(rulings(9, 9, 9), merged=[manual])], S, warnings=["w"]).decision == "ACCEPT"


def test_contradicted_claim_is_revised_away_even_above_threshold():
    b = B.substantive(claims=B.claim_rows(("SUPPORTED", "SUPPORTED")))
    outcome = review_rounds(b, S, sequential_review(S))
    assert outcome.rounds[0].aggregate >= S.threshold
    assert outcome.rounds[0].rulings[0].failed_critical  # contradicted claims stated
    assert len(outcome.rounds) == 2 and outcome.policy.decision == "ACCEPT"


def test_settings_reject_unknown_keys_and_bad_values():
    with pytest.raises(ValidationError, match="extra_forbidden|Extra inputs"):
        TribunalSettings(treshold=6.5)
    with pytest.raises(ValidationError):
        TribunalSettings(threshold=11)
    with pytest.raises(ValidationError, match="at least one"):
        TribunalSettings(weights={"skeptic": 0, "validator": 0, "synthesizer": 0})


def test_no_papers_at_all_escalates():
    outcome = review_rounds(B.bundle(papers=[], claims=[]), S, sequential_review(S))
    assert outcome.policy.decision == "ESCALATE_TO_OWNER"
    assert any("relevant papers" in r for r in outcome.policy.reasons)
