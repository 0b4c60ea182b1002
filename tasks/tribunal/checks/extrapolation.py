"""A routing model used to extrapolate shows its validation against published data, and its figures carry a sensitivity band."""

from __future__ import annotations

from tasks.tribunal.bundle import EvidenceBundle
from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.report_text import numbers
from tasks.tribunal.checks.values import matches


def modelled_answer_models(bundle: EvidenceBundle) -> list[str]:
    """Question models whose unique-expert counts at the asked N come from a routing model (not a trace)."""
    asked = getattr(bundle.question, "structured", None)
    wanted = getattr(asked, "models", None) or sorted({r.model for r in bundle.rows() if not r.dense})
    tokens = set(getattr(asked, "parallel_tokens", None) or [r.n_tokens for r in bundle.rows()])
    out = []
    for model in wanted:
        rows = [r for r in bundle.rows(model) if not r.dense and r.n_tokens in tokens and r.unique_experts_mean is not None]
        if any(not str(getattr(r, "experts_provenance", "modelled")).startswith("measured") and r.routing != "trace" for r in rows):
            out.append(model)
    return out


def _misreported(body: str, ctx: CheckContext) -> list[Finding]:
    """Decimal numbers of the validation section that match no published value, model value or error of the bundle."""
    rows = ctx.bundle.validation
    known = [x for v in rows for x in (v.published, v.modelled, abs(v.error_pct), v.error_pct)]
    known += [n.value for v in rows for n in numbers(f"{v.setting} {v.citation}")]  # e.g. per-benchmark ranges
    out = []
    for n in numbers(body):
        if n.decimals and not n.ratio and not any(matches(n.value, n.decimals, x, ctx.rel_tol) for x in known):
            out.append(Finding(kind="validation_misreported", where="Validation",
                               message=f"'{n.text}{'%' if n.percent else ''}' in the validation section is not in the "
                                       "bundle's validation rows (published, modelled or error)"))
    return out[:5]


@register("validation_shown", "validator", "does the routing model used to extrapolate show its validation against published data?")
def validation_shown(ctx: CheckContext) -> CheckResult:
    models = modelled_answer_models(ctx.bundle)
    if not models:
        return not_applicable("validation_shown", "no modelled unique-expert counts in the answer")
    findings = []
    oos = [v for v in ctx.bundle.validation if not v.used_for_fit]
    if not oos:
        findings.append(Finding(kind="no_validation", where="bundle.validation",
                                message=f"unique experts of {', '.join(models)} come from a routing model that is never compared "
                                        "with published measurements out of sample"))
    if ctx.report is not None:
        body = ctx.report.section("Validation")
        if body is None or "|" not in body:
            findings.append(Finding(kind="no_validation", where="report",
                                    message="the report has no validation table (published vs modelled, error per point)"))
        elif oos and not any(any(matches(n.value, n.decimals, v.published, ctx.rel_tol) for n in numbers(body)) for v in oos):
            findings.append(Finding(kind="no_validation", where="report",
                                    message="the validation section shows none of the published out-of-sample points"))
        else:
            findings += _misreported(body, ctx)
    worst = max((abs(v.error_pct) for v in oos), default=None)
    return result("validation_shown", findings, f"{len(ctx.bundle.validation)} validation rows, {len(oos)} out of sample"
                  + (f", worst error {worst:.1f}%" if worst is not None else ""))


@register("sensitivity_band", "skeptic", "do the extrapolated figures carry a sensitivity band over routing hypotheses?")
def sensitivity_band(ctx: CheckContext) -> CheckResult:
    b = ctx.bundle
    models = modelled_answer_models(b)
    if not models:
        return not_applicable("sensitivity_band", "no extrapolated (modelled) figures in the answer")
    asked = getattr(b.question, "structured", None)
    tokens = getattr(asked, "parallel_tokens", None) or sorted({r.n_tokens for r in b.rows()})
    findings = []
    primary = models[0]
    bands = [s for s in b.sensitivity if s.model == primary and s.experts_high > s.experts_low]
    # up to the largest validated block the routing hypotheses coincide (one block of N = blocks of 32): no band there
    validated = max((v.n_tokens for v in b.validation), default=0)
    missing = [n for n in tokens if n > validated and not any(s.n_tokens == n for s in bands)]
    if missing:
        findings.append(Finding(kind="no_sensitivity_band", where="bundle.sensitivity",
                                message=f"no band over routing hypotheses for {primary} at N={missing}"))
    if ctx.report is not None:
        if not ctx.report.has("Sensitivity"):
            findings.append(Finding(kind="no_sensitivity_band", where="report", message="the report has no sensitivity section"))
        abstract = numbers(ctx.report.section("Abstract") or "")
        shows = [s for s in bands if any(matches(n.value, n.decimals, s.experts_low, ctx.rel_tol) for n in abstract)
                 and any(matches(n.value, n.decimals, s.experts_high, ctx.rel_tol) for n in abstract)]
        if bands and not shows:
            findings.append(Finding(kind="no_sensitivity_band", where="Abstract",
                                    message=f"the abstract states single numbers for {primary}, not the band "
                                            f"({bands[0].experts_low:.3g}–{bands[0].experts_high:.3g} at N={bands[0].n_tokens})"))
    return result("sensitivity_band", findings, f"{len(bands)} bands for {primary} at N={sorted({s.n_tokens for s in bands})}")
