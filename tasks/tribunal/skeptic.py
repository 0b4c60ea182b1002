"""SKEPTIC: threats to validity, each a rubric item, the substance checks of its role, and the disclosure of each threat.

A threat (projected numbers, other hardware, synthetic routing, noisy timings) is
one item. Whether the draft discloses it as an uncertainty is recorded too, with
weight 0: disclosing a threat earns no credit (a revision round can add the
statement, not the missing measurement, so it must not raise the score).
The substance checks (tasks/tribunal/checks: provenance labels, same units,
sensitivity band, contradicted claims, conclusion) are critical items.
A draft with no sweep (a literature-only report) is judged on its claims only.
"""

from __future__ import annotations

from tasks.tribunal.bundle import EvidenceBundle, hardware_family
from tasks.tribunal.checks import ReportText
from tasks.tribunal.checks.claims import counted_as_verified, independent
from tasks.tribunal.common import asked_rows, moe_rows, num, rubric_score
from tasks.tribunal.records import RubricItem, Revision, Ruling
from tasks.tribunal.settings import TribunalSettings
from tasks.tribunal.substance import substance_items


def _disclose(topic: str, statement: str, threat: bool, bundle: EvidenceBundle, what: str) -> tuple[RubricItem, Revision | None]:
    disclosed = not threat or bundle.has_topic(topic)
    item = RubricItem(
        key=f"disclosed_{topic}", question=f"is the threat '{what}' stated as an uncertainty?", passed=disclosed,
        evidence="no threat" if not threat else ("stated in uncertainties" if disclosed else "not stated"), weight=0.0,
    )
    rev = None if disclosed else Revision(kind="add_uncertainty", topic=topic, statement=statement,
                                          text=f"state the uncertainty: {statement}", raised_by="skeptic")
    return item, rev


def skeptic_ruling(bundle: EvidenceBundle, settings: TribunalSettings, report: ReportText | None = None) -> Ruling:
    """Hunt threats to validity in ``bundle`` (and in the written report, when given).

    Args:
        bundle: the evidence bundle (draft state).
        settings: thresholds (min_papers, max_timing_spread) and the substance checks.
        report: the report as written (review of a finished run); None in the flow's own review.
    Returns:
        The SKEPTIC's Ruling.
    """
    items, findings, revisions = substance_items("skeptic", bundle, settings, report)
    if bundle.rows() and getattr(bundle, "asked", None) is not None:
        _experimental_threats(bundle, settings, items, findings, revisions)
    _literature_threats(bundle, settings, items, findings, revisions)
    return Ruling(role="skeptic", score=rubric_score(items), items=items, findings=findings, revisions=revisions)


def _experimental_threats(bundle: EvidenceBundle, settings: TribunalSettings, items: list[RubricItem], findings: list[str],
                          revisions: list[Revision]) -> None:
    """Threats of a draft that rests on a sweep: projected numbers, other hardware, synthetic routing, noise, baseline."""
    asked = bundle.asked
    rows = asked_rows(bundle)
    measured = [r for r in rows if r.measured]

    # 1. projected, not measured
    projected_only = bool(rows) and not measured
    items.append(RubricItem(
        key="measured_not_projected", question="are the answer's numbers measured on a GPU, not only projected?",
        passed=bool(measured), weight=2.0,
        evidence=f"{len(measured)} measured / {len(rows)} rows at N={asked.parallel_tokens}" if rows else "no sweep rows at the asked N",
    ))
    if projected_only:
        findings.append(f"all {len(rows)} step times at N={asked.parallel_tokens} are roofline projections, none measured")
        revisions.append(Revision(kind="manual", automatable=False, raised_by="skeptic",
                                  text="measure the flagship points on a GPU (tasks/gpu) and rebuild the bundle"))
    item, rev = _disclose("projected", "Projected step times and bandwidth utilisations are roofline projections from datasheet "
                          "ceilings, not measurements; real kernels reach a fraction of the roofline.",
                          projected_only or (bool(rows) and len(measured) < len(rows)), bundle, "projected numbers")
    items.append(item)
    revisions += [rev] if rev else []

    # 2. hardware measured != hardware asked
    asked_fam = hardware_family(asked.hardware)
    measured_fams = sorted({hardware_family(r.hardware) for r in measured})
    mismatch = bool(measured) and asked_fam not in measured_fams
    items.append(RubricItem(
        key="hardware_matches_question", question=f"were the numbers obtained on the asked hardware ({asked.hardware_name})?",
        passed=not mismatch, weight=1.5,
        evidence=(f"measured on {', '.join(measured_fams)}, asked {asked_fam}" if measured
                  else f"projections for {asked_fam}: {bool(bundle.rows(hardware=asked.hardware))}"),
    ))
    if mismatch:
        findings.append(f"measured on {', '.join(measured_fams).upper()} but the question asks {asked.hardware_name}")
    item, rev = _disclose("hardware_mismatch", f"Measurements were taken on {', '.join(measured_fams).upper() or 'other hardware'}, "
                          f"not on the asked {asked.hardware_name}; {asked.hardware_name} figures are scaled by datasheet bandwidth.",
                          mismatch, bundle, "hardware mismatch")
    items.append(item)
    revisions += [rev] if rev else []

    # 3. synthetic / calibrated routing instead of traces
    moe = moe_rows(bundle)
    routings = sorted({r.routing for r in moe})
    synthetic = bool(moe) and "trace" not in routings
    items.append(RubricItem(
        key="routing_from_traces", question="do expert statistics come from recorded routing traces?",
        passed=not synthetic, weight=1.0, evidence=f"routings: {', '.join(routings) or 'none'}",
    ))
    if synthetic:
        findings.append(f"expert routing is modelled ({', '.join(routings)}), not replayed from real traces")
    item, rev = _disclose("synthetic_routing", f"Expert routing is synthetic ({', '.join(routings)}); the calibrated model is "
                          "fitted to one published point, so unique-expert counts away from it are model-dependent.",
                          synthetic, bundle, "synthetic routing")
    items.append(item)
    revisions += [rev] if rev else []

    # 4. timing noise
    noisy = [r for r in bundle.rows(measured=True) if (r.timing_spread or 0) > settings.max_timing_spread]
    spreads = [r.timing_spread for r in bundle.rows(measured=True) if r.timing_spread is not None]
    items.append(RubricItem(
        key="timing_noise", question=f"is the repeat spread of measured timings <= {settings.max_timing_spread:.0%}?",
        passed=not noisy, weight=1.0,
        evidence=f"max spread {num(max(spreads), 3)} over {len(spreads)} measured rows" if spreads else "no measured timings",
    ))
    if noisy:
        findings.append(f"{len(noisy)} measured points have repeat spread above {settings.max_timing_spread:.0%} "
                        f"(worst {noisy[0].label}: {max(r.timing_spread or 0 for r in noisy):.1%})")
    item, rev = _disclose("timing_noise", f"{len(noisy)} measured points vary by more than {settings.max_timing_spread:.0%} "
                          "between repeats; their medians carry that uncertainty.", bool(noisy), bundle, "timing noise")
    items.append(item)
    revisions += [rev] if rev else []

    # 6. missing baseline
    base_rows = [r for r in bundle.rows(asked.baseline) if r.n_tokens in asked.parallel_tokens]
    items.append(RubricItem(
        key="baseline_present", question=f"is the dense baseline {asked.baseline_name} in the sweep at the asked N?",
        passed=bool(base_rows), weight=1.5,
        evidence=f"{len(base_rows)} {asked.baseline} rows at N={asked.parallel_tokens}",
    ))
    if not base_rows:
        findings.append(f"no {asked.baseline_name} baseline at N={asked.parallel_tokens}")
        item, rev = _disclose("missing_baseline", f"The dense {asked.baseline_name} baseline was not evaluated; "
                              "no comparison with it is made.", True, bundle, "missing baseline")
        items.append(item)
        revisions += [rev] if rev else []


def _literature_threats(bundle: EvidenceBundle, settings: TribunalSettings, items: list[RubricItem], findings: list[str],
                        revisions: list[Revision]) -> None:
    """Threats of any draft: contradicted or unverified claims stated as fact, thin or stale literature."""
    # 5. contradicted / unverified claims still stated as fact
    contradicted = [c for c in bundle.claims if c.label == "CONTRADICTED" and c.disposition != "dropped"]
    # self-supported: SUPPORTED only by the claim's own paper is no verification (tasks/tribunal/checks/claims.py)
    unverified = [c for c in bundle.claims if c.disposition == "stated"
                  and (c.label == "NOT_ENOUGH_INFO" or (counted_as_verified(c) and not independent(c)))]
    items.append(RubricItem(
        key="no_contradicted_claims_in_text", question="is every contradicted claim out of the text?",
        passed=not contradicted, weight=2.0, critical=True,
        evidence=f"{len(contradicted)} contradicted claims still in the text: {', '.join(c.claim.claim_id for c in contradicted[:5])}"
        if contradicted else "none",
    ))
    if contradicted:
        findings.append(f"{len(contradicted)} contradicted claims are still in the text")
        revisions.append(Revision(kind="drop_claims", claim_ids=[c.claim.claim_id for c in contradicted], raised_by="skeptic",
                                  text=f"drop {len(contradicted)} contradicted claims from the text"))
    items.append(RubricItem(
        key="no_unverified_claims_as_fact", question="is every unverified claim softened or dropped?",
        passed=not unverified, weight=1.0,
        evidence=f"{len(unverified)} claims without independent evidence stated as fact" if unverified else "none",
    ))
    if unverified:
        findings.append(f"{len(unverified)} claims without supporting evidence are stated as fact")
        revisions.append(Revision(kind="soften_claims", claim_ids=[c.claim.claim_id for c in unverified], raised_by="skeptic",
                                  text=f"soften {len(unverified)} unverified claims (mark them 'unverified')"))

    # 7. too few papers, and a snapshot instead of the live API
    kept = bundle.papers_kept
    items.append(RubricItem(
        key="enough_papers", question=f"were at least {settings.min_papers} relevant papers kept?",
        passed=kept >= settings.min_papers, weight=1.0, evidence=f"{kept} kept of {bundle.papers_retrieved} retrieved",
        critical=kept == 0,  # no literature at all: nothing to compare with, the owner must look
    ))
    if kept < settings.min_papers:
        findings.append(f"only {kept} papers kept (minimum {settings.min_papers})")
    item, rev = _disclose("few_papers", f"Only {kept} papers passed the relevance filter; the literature comparison is thin.",
                          kept < settings.min_papers, bundle, "too few papers")
    items.append(item)
    revisions += [rev] if rev else []
    snapshot = "snapshot" in bundle.retrieval_sources
    item, rev = _disclose("snapshot_retrieval", "Literature came (at least partly) from the local arXiv snapshot, not the live "
                          "API; papers newer than the snapshot are missing.", snapshot, bundle, "snapshot retrieval")
    items.append(item)
    revisions += [rev] if rev else []
    if snapshot:
        findings.append("retrieval used the local snapshot (arXiv API not used or unreachable)")
