"""The aggregate score and the ACCEPT / ESCALATE_TO_OWNER policy.

aggregate = (w_skeptic * skeptic + w_validator * validator + w_synthesizer * synthesizer)
            / (w_skeptic + w_validator + w_synthesizer)
with the weights of ``tribunal.weights`` (default 0.4, 0.4, 0.2: the two critics carry the
decision, the SYNTHESIZER's completeness counts half as much). ACCEPT needs
aggregate >= threshold (inclusive) and no failed critical item; ACCEPT never
removes the "owner review required" banner.
"""

from __future__ import annotations

from tasks.tribunal.records import Policy, RoundRecord, Ruling, TribunalOutcome
from tasks.tribunal.settings import TribunalSettings


def aggregate_score(rulings: list[Ruling], settings: TribunalSettings) -> float:
    """Weighted mean of the role scores (see module docstring), rounded to 2 decimals."""
    weights = {r.role: settings.weights.of(r.role) for r in rulings}
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("tribunal.weights of the roles that ruled sum to 0; give at least one a positive weight")
    return round(sum(weights[r.role] * r.score for r in rulings) / total, 2)


def decide(rounds: list[RoundRecord], settings: TribunalSettings, warnings: list[str] | None = None) -> Policy:
    """ACCEPT or ESCALATE_TO_OWNER from the last round, with every reason to escalate.

    Args:
        rounds: review rounds, first to last.
        settings: threshold and max_rounds.
        warnings: backend warnings (LLM fallbacks); reported, they do not escalate by themselves.
    """
    final = rounds[-1]
    revision_rounds = len(rounds) - 1
    reasons: list[str] = []
    if final.aggregate < settings.threshold:
        if revision_rounds >= settings.max_rounds:
            why = f"max_rounds={settings.max_rounds} reached"
        else:
            why = "no automatable revision left"
        reasons.append(f"aggregate {final.aggregate:.2f} < threshold {settings.threshold:.2f} after "
                       f"{revision_rounds} revision round(s) ({why})")
        manual = [r.text for r in final.merged_revisions if not r.automatable]
        reasons += [f"needs the owner: {text}" for text in manual]
    for ruling in final.rulings:
        for item in ruling.failed_critical:
            reasons.append(f"critical {ruling.role} item failed: {item.question} ({item.evidence})")
    if reasons:
        reasons += [f"backend warning: {w}" for w in (warnings or [])]
        return Policy(decision="ESCALATE_TO_OWNER", reasons=reasons, threshold=settings.threshold,
                      aggregate=final.aggregate, rounds=revision_rounds)
    why = (f"aggregate {final.aggregate:.2f} ≥ threshold {settings.threshold:.2f} after {revision_rounds} revision round(s), "
           "no critical item failed; the draft still needs the owner's review")
    return Policy(decision="ACCEPT", reasons=[why], threshold=settings.threshold, aggregate=final.aggregate, rounds=revision_rounds)


def escalate_after_review(outcome: TribunalOutcome, reasons: list[str]) -> TribunalOutcome:
    """The outcome when the review of the written report escalates a draft the in-flow rounds accepted.

    The rounds judge the bundle before the report exists; the written text can still fail a check (a number without
    its source, an untagged figure). The stricter verdict wins, and the report says why.
    """
    if outcome.policy.decision != "ACCEPT":
        return outcome
    why = [f"the review of the written report escalates: {r}" for r in reasons] or ["the review of the written report escalates"]
    policy = outcome.policy.model_copy(update={"decision": "ESCALATE_TO_OWNER", "reasons": list(outcome.policy.reasons) + why})
    return outcome.model_copy(update={"policy": policy})
