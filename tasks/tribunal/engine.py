"""Review rounds: rule with three roles, aggregate, revise below the threshold, re-review, decide.

The round loop is plain Python; the flow (flows/review.py) supplies a ``review``
function that runs the three roles as mapped Prefect tasks, tests a sequential one.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from tasks.tribunal.bundle import EvidenceBundle
from tasks.tribunal.checks import ReportText
from tasks.tribunal.policy import aggregate_score, decide
from tasks.tribunal.records import ROLES, RoundRecord, Ruling, TribunalOutcome
from tasks.tribunal.revise import AddPoints, apply_revisions
from tasks.tribunal.settings import TribunalSettings
from tasks.tribunal.skeptic import skeptic_ruling
from tasks.tribunal.synthesizer import merge_revisions, synthesizer_ruling
from tasks.tribunal.validator import validator_ruling

RUBRICS = {"skeptic": skeptic_ruling, "validator": validator_ruling, "synthesizer": synthesizer_ruling}
ReviewFn = Callable[[EvidenceBundle, int], list[Ruling]]


def rubric_ruling(role: str, bundle: EvidenceBundle, settings: TribunalSettings, report: ReportText | None = None) -> Ruling:
    """The deterministic ruling of ``role`` (no network); ``report``: the written report, when reviewing a finished run."""
    if role not in RUBRICS:
        raise ValueError(f"unknown tribunal role {role!r}; allowed: {', '.join(ROLES)}")
    if bundle.asked is None:  # no structured block: a literature review's own rubric (issue 11), plus the substance checks
        from tasks.tribunal.literature import LITERATURE_RUBRICS

        return with_substance(LITERATURE_RUBRICS[role](bundle, settings), bundle, settings, report)
    if role == "synthesizer":
        return RUBRICS[role](bundle, settings)
    return RUBRICS[role](bundle, settings, report)


def with_substance(ruling: Ruling, bundle: EvidenceBundle, settings: TribunalSettings, report: ReportText | None) -> Ruling:
    """Add the role's substance checks to a ruling from another rubric; disclosure items earn no credit."""
    from tasks.tribunal.checks.claims import counted_as_verified, independent
    from tasks.tribunal.common import rubric_score
    from tasks.tribunal.records import Revision
    from tasks.tribunal.substance import substance_items

    items, findings, revisions = substance_items(ruling.role, bundle, settings, report) if ruling.role != "synthesizer" else ([], [], [])
    # no credit for stating a threat or an uncertainty section, nor for a verifier share that counts self-support
    no_credit = ("disclosed_", "uncertainties_stated", "verified_fraction")
    items += [i.model_copy(update={"weight": 0.0}) if i.key.startswith(no_credit) else i for i in ruling.items]
    if ruling.role == "validator":
        from tasks.tribunal.validator import claims_verified_item

        items.append(claims_verified_item(bundle, settings)[0])
    selfish = [c.claim.claim_id for c in bundle.claims if counted_as_verified(c) and not independent(c)]
    if ruling.role == "skeptic" and selfish:
        revisions.append(Revision(kind="soften_claims", claim_ids=selfish, raised_by="skeptic",
                                  text=f"mark {len(selfish)} claims supported only by their own paper as unverified"))
    return ruling.model_copy(update={"items": items, "score": rubric_score(items), "findings": findings + ruling.findings,
                                     "revisions": revisions + ruling.revisions})


def rule(role: str, bundle: EvidenceBundle, settings: TribunalSettings, chat_model: Any = None,
         report: ReportText | None = None) -> Ruling:
    """One role's ruling with the configured backend (``tribunal.backend``: rubric | llm)."""
    if settings.backend == "llm":
        from tasks.tribunal.llm_judge import llm_ruling

        return llm_ruling(role, bundle, settings, chat_model, report)
    return rubric_ruling(role, bundle, settings, report)


def sequential_review(settings: TribunalSettings, chat_model: Any = None, report: ReportText | None = None) -> ReviewFn:
    """A ``review`` function that rules role after role in this thread (tests, scripts, the review command)."""
    return lambda bundle, _round: [rule(role, bundle, settings, chat_model, report) for role in ROLES]


def review_rounds(bundle: EvidenceBundle, settings: TribunalSettings, review: ReviewFn, add_points: AddPoints = None,
                  on_round: Optional[Callable[[RoundRecord], None]] = None) -> TribunalOutcome:
    """Review, and while the aggregate is below the threshold (or a critical item fails) revise and re-review.

    Args:
        bundle: the draft's evidence.
        settings: threshold, max_rounds, weights.
        review: rules all three roles on a bundle; called once per round.
        add_points: the flow's callback for missing sweep points (None: cannot add).
        on_round: called with each finished round (the flow logs it to MLflow).
    Returns:
        The TribunalOutcome, whose ``bundle`` is the revised one the report is written from.
    """
    rounds: list[RoundRecord] = []
    current = bundle
    for number in range(settings.max_rounds + 1):
        rulings = sorted(review(current, number), key=lambda r: ROLES.index(r.role))
        record = RoundRecord(round=number, rulings=rulings, aggregate=aggregate_score(rulings, settings),
                             merged_revisions=merge_revisions(rulings))
        needs_revision = record.aggregate < settings.threshold or any(r.failed_critical for r in rulings)
        revised = None
        if needs_revision and number < settings.max_rounds:
            revised, applied, skipped = apply_revisions(current, record.merged_revisions, add_points)
            record = record.model_copy(update={"applied": applied, "skipped": skipped})
        rounds.append(record)
        if on_round:
            on_round(record)
        if revised is None or not record.applied:
            break
        current = revised
    warnings = list(dict.fromkeys(w for rd in rounds for r in rd.rulings for w in r.warnings))
    final_synth = next(r for r in rounds[-1].rulings if r.role == "synthesizer")
    return TribunalOutcome(
        rounds=rounds, policy=decide(rounds, settings, warnings), answer=final_synth.answer or "",
        revisions_applied=sum(len(r.applied) for r in rounds), warnings=warnings, backend=settings.backend, bundle=current,
    )
