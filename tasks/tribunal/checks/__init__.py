"""Substance checks: one module per check, each registered in base.REGISTRY; ``run_checks`` runs those of a role.

Each returns a CheckResult whose findings name the defect (``untraced_number``, ``provenance_mismatch``,
``step_vs_token``, ``infeasible_hardware``, ``no_validation``, ``no_sensitivity_band``, ``missing_citation``,
``self_supported_claim``, ``contradicted_claim_in_text``, ``conclusion_contradicts_results``, ...).
"""

from __future__ import annotations

from tasks.tribunal.checks import citations, claims, conclusion, extrapolation, feasibility, numbers, units  # noqa: F401  (registers)
from tasks.tribunal.checks import bounds, comparisons, injection, limitations, references, tables, unsupported, verdicts  # noqa: F401
from tasks.tribunal.checks import attribution, batch, device_facts, growth_shape, overclaim, quotes, ratios, regime, run_facts, scope, sections, sweep_tables  # noqa: F401
from tasks.tribunal.checks.base import REGISTRY, CheckContext, CheckResult, Finding
from tasks.tribunal.checks.report_text import ReportText


def run_checks(ctx: CheckContext, role: str | None = None, disabled: frozenset[str] | set[str] = frozenset()) -> list[CheckResult]:
    """Every registered check of ``role`` (all roles when None), except ``disabled`` ones (for ablations)."""
    out = []
    for check in REGISTRY.values():
        if (role is None or check.role == role) and check.key not in disabled:
            try:
                out.append(check.fn(ctx))
            except Exception as exc:  # a broken check must not stop a review: it fails loudly instead
                out.append(CheckResult(key=check.key, role=check.role, question=check.question, passed=False,
                                       evidence=f"check crashed: {type(exc).__name__}: {exc}",
                                       findings=[Finding(kind="check_error", message=f"{type(exc).__name__}: {exc}")]))
    return out


__all__ = ["REGISTRY", "CheckContext", "CheckResult", "Finding", "ReportText", "run_checks"]
