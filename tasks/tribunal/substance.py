"""Substance checks as rubric items: each applicable registered check of a role becomes one critical item.

A check that does not apply (a literature-only draft has no sweep to validate) adds no item:
the draft is judged on what it claims. Findings are named by their kind, so the policy's
escalation reasons say which defect was found.
"""

from __future__ import annotations

from tasks.tribunal.bundle import EvidenceBundle
from tasks.tribunal.checks import CheckContext, CheckResult, ReportText, run_checks
from tasks.tribunal.records import Revision, RubricItem
from tasks.tribunal.settings import TribunalSettings


def substance_results(role: str, bundle: EvidenceBundle, settings: TribunalSettings,
                      report: ReportText | None = None) -> list[CheckResult]:
    """The role's substance checks on the draft (bundle, plus the report text when reviewing a written run)."""
    if not settings.substance.enabled:
        return []
    ctx = CheckContext(bundle=bundle, report=report, rel_tol=settings.substance.rel_tol)
    return run_checks(ctx, role, disabled=set(settings.substance.disabled))


def substance_items(role: str, bundle: EvidenceBundle, settings: TribunalSettings, report: ReportText | None = None
                    ) -> tuple[list[RubricItem], list[str], list[Revision]]:
    """(rubric items, findings, manual revisions) of the role's applicable substance checks."""
    items, findings, revisions = [], [], []
    for res in substance_results(role, bundle, settings, report):
        if not res.applicable:
            continue
        kinds = sorted({f.kind for f in res.findings})
        evidence = res.evidence + (f"; findings: {', '.join(kinds)}" if kinds else "")
        items.append(RubricItem(key=f"substance:{res.key}", question=res.question, passed=res.passed, evidence=evidence,
                                weight=res.weight, critical=res.critical))
        findings += [f"{f.kind}: {f.message}" for f in res.findings]
        if not res.passed:
            revisions.append(Revision(kind="manual", automatable=False, raised_by=role,
                                      text=f"fix {res.key} ({', '.join(kinds)}): {res.findings[0].message[:200]}"))
    return items, findings, revisions
