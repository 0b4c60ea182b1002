"""The tribunal's rubric for a literature review: a question with no structured block, judged on what it claims.

The flagship checklist (sweep rows at the asked N, the baseline, measured vs projected) does not apply when the
question names no models to sweep; these three roles check the literature evidence instead.
"""

from __future__ import annotations

import re

from tasks.tribunal.bundle import EvidenceBundle
from tasks.tribunal.common import rubric_score
from tasks.tribunal.records import RubricItem, Revision, Ruling
from tasks.tribunal.settings import TribunalSettings

REVIEW_NOTE = "This is a literature review: no experiment was run, so every number comes from the cited papers."


def _disclose(bundle: EvidenceBundle, topic: str, statement: str, threat: bool, what: str) -> tuple[RubricItem, list[Revision]]:
    disclosed = not threat or bundle.has_topic(topic)
    item = RubricItem(key=f"disclosed_{topic}", question=f"is the threat '{what}' stated as an uncertainty?", passed=disclosed,
                      evidence="no threat" if not threat else ("stated" if disclosed else "not stated"), weight=0.5)
    revs = [] if disclosed else [Revision(kind="add_uncertainty", topic=topic, statement=statement, raised_by="skeptic",
                                          text=f"state the uncertainty: {statement}")]
    return item, revs


def skeptic_literature(bundle: EvidenceBundle, settings: TribunalSettings) -> Ruling:
    """Threats to a literature answer: too few papers, contradicted or unverified claims stated as fact, snapshot search."""
    items, revisions, findings = [], [], []
    few = bundle.papers_kept < settings.min_papers
    items.append(RubricItem(key="enough_papers", question=f"does the answer rest on at least {settings.min_papers} papers?",
                            passed=not few, evidence=f"{bundle.papers_kept} kept of {bundle.papers_retrieved} retrieved", weight=1.5))
    if few:
        findings.append(f"only {bundle.papers_kept} papers were kept")
    item, revs = _disclose(bundle, "few_papers", f"The answer rests on only {bundle.papers_kept} papers.", few, "few papers")
    items.append(item)
    revisions += revs
    stated_bad = [c.claim.claim_id for c in bundle.claims if c.label == "CONTRADICTED" and c.disposition == "stated"]
    items.append(RubricItem(key="no_contradicted_claim_stated", question="is no contradicted claim stated as fact?",
                            passed=not stated_bad, evidence=f"{len(stated_bad)} contradicted claims stated", weight=2.0, critical=True))
    if stated_bad:
        findings.append(f"{len(stated_bad)} contradicted claims are stated as fact")
        revisions.append(Revision(kind="drop_claims", claim_ids=stated_bad, raised_by="skeptic",
                                  text=f"drop the contradicted claims {', '.join(stated_bad[:5])}"))
    unverified = [c.claim.claim_id for c in bundle.claims if c.label == "NOT_ENOUGH_INFO" and c.disposition == "stated"]
    items.append(RubricItem(key="unverified_claims_softened", question="are claims without enough evidence marked unverified?",
                            passed=not unverified, evidence=f"{len(unverified)} unverified claims stated as fact", weight=1.0))
    if unverified:
        revisions.append(Revision(kind="soften_claims", claim_ids=unverified, raised_by="skeptic",
                                  text=f"mark {len(unverified)} claims without enough evidence as unverified"))
    snapshot = "snapshot" in bundle.retrieval_sources
    item, revs = _disclose(bundle, "snapshot_retrieval", "Papers came from a local arXiv snapshot with paraphrased abstracts, "
                           "not from a live search; newer or full-text evidence may be missing.", snapshot, "snapshot retrieval")
    items.append(item)
    revisions += revs
    return Ruling(role="skeptic", score=rubric_score(items), items=items, findings=findings, revisions=revisions)


def validator_literature(bundle: EvidenceBundle, settings: TribunalSettings) -> Ruling:
    """Is each claim the answer uses verified and tied to a kept paper?"""
    rows = bundle.claims
    kept_ids = {p.arxiv_id for p in bundle.papers}
    verified = [c for c in rows if c.label != "NOT_ENOUGH_INFO"]
    share = len(verified) / len(rows) if rows else 0.0
    supported_sources = {c.source_id for c in rows if c.label == "SUPPORTED" and c.disposition == "stated"}
    items = [
        RubricItem(key="claims_present", question="does the draft extract checkable claims from the papers?",
                   passed=bool(rows), evidence=f"{len(rows)} claims", weight=1.0),
        RubricItem(key="verified_fraction", question=f"does a verifier settle at least {settings.min_verified_fraction:.0%} of the claims?",
                   passed=bool(rows) and share >= settings.min_verified_fraction, evidence=f"{len(verified)}/{len(rows)} settled", weight=2.0),
        RubricItem(key="claims_cite_kept_papers", question="does every claim cite a kept paper?",
                   passed=all(c.source_id in kept_ids for c in rows), weight=1.0,
                   evidence=f"{sum(c.source_id in kept_ids for c in rows)}/{len(rows)} cite a kept paper"),
        RubricItem(key="independent_sources", question="do the supported claims come from at least two papers?",
                   passed=len(supported_sources) >= 2, evidence=f"{len(supported_sources)} papers", weight=1.0),
    ]
    findings = [f"the {i.key.replace('_', ' ')} check fails ({i.evidence})" for i in items if not i.passed]
    return Ruling(role="validator", score=rubric_score(items), items=items, findings=findings)


def compose_literature_answer(bundle: EvidenceBundle, max_points: int = 3) -> str:
    """A short answer: at most one supported claim per paper, claims corroborated by another paper first, then in the
    order the claims stage ranked them by relevance to the question."""
    from tasks.tribunal.checks.claims import independent

    usable = [c for c in bundle.claims if c.label == "SUPPORTED" and c.disposition == "stated"]
    best, seen = [], set()
    for c in sorted(usable, key=lambda c: not independent(c)):  # stable: keeps the relevance order within each group
        if c.source_id not in seen:
            best.append(c)
            seen.add(c.source_id)
        if len(best) == max_points:
            break
    head = f"Literature review of {bundle.papers_kept} papers (no experiment was run)."
    if not best:
        return head + " No claim from these papers was verified, so the question is not answered yet."
    points = " ".join(f"[{c.source_id}] {c.claim.text.rstrip('.')}." for c in best)
    return f"{head} The best-supported findings: {points}"


def synthesizer_literature(bundle: EvidenceBundle, settings: TribunalSettings) -> Ruling:
    """Write the answer from verified claims and judge it: sourced, concise, says what kind of evidence it is."""
    answer = compose_literature_answer(bundle)
    sentences = len(re.findall(r"[.!?](\s|$)", answer))
    items = [
        RubricItem(key="answer_cites_sources", question="does the answer cite the papers its findings come from?",
                   passed="[" in answer, evidence="cites arXiv ids" if "[" in answer else "no finding to cite", weight=1.5),
        RubricItem(key="answer_concise", question=f"is the answer at most {settings.max_answer_sentences + 2} sentences?",
                   passed=sentences <= settings.max_answer_sentences + 2, evidence=f"{sentences} sentences", weight=0.5),
        RubricItem(key="answer_labels_evidence", question="does the answer say its evidence is published, not measured here?",
                   passed="no experiment" in answer, evidence="says so", weight=1.0),
        RubricItem(key="uncertainties_stated", question="does the draft carry an uncertainty section?",
                   passed=bool(bundle.uncertainties), evidence=f"{len(bundle.uncertainties)} statements", weight=1.0),
    ]
    revisions = [] if bundle.uncertainties else [Revision(kind="add_uncertainty", topic="other", raised_by="synthesizer",
                                                           statement=REVIEW_NOTE, text="add an uncertainty section")]
    findings = [f"the answer fails '{i.question}'" for i in items if not i.passed]
    return Ruling(role="synthesizer", score=rubric_score(items), items=items, findings=findings, revisions=revisions, answer=answer)


LITERATURE_RUBRICS = {"skeptic": skeptic_literature, "validator": validator_literature, "synthesizer": synthesizer_literature}
