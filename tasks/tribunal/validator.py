"""VALIDATOR: is each part of the question answered with a number and its source, verified and reproducible?"""

from __future__ import annotations

from tasks.tribunal.bundle import DENSE_ROUTING, EvidenceBundle
from tasks.tribunal.checks import ReportText
from tasks.tribunal.checks.claims import independent
from tasks.tribunal.common import asked_models_present, num, rubric_score, run_ref
from tasks.tribunal.records import PointRequest, RubricItem, Revision, Ruling
from tasks.tribunal.settings import TribunalSettings
from tasks.tribunal.substance import substance_items


def _add_points(points: list[PointRequest], why: str) -> Revision:
    return Revision(kind="add_points", points=points, raised_by="validator",
                    text=f"add sweep points {', '.join(f'{p.model}·{p.routing}·N={p.n_tokens}' for p in points)} ({why})")


def _scaling(bundle: EvidenceBundle, settings: TribunalSettings, models: list[str]) -> tuple[RubricItem, list[Revision]]:
    evidence, passed = [], False
    for model in models:
        routing = bundle.answer_routing(model)
        rows = sorted((r for r in bundle.rows(model) if r.routing == routing and r.unique_experts_mean is not None),
                      key=lambda r: r.n_tokens)
        ns = sorted({r.n_tokens for r in rows})
        fit = next((g for g in bundle.growth if g.model == model and g.routing == routing), None)
        if len(ns) >= settings.min_scaling_points:
            passed = True
            lo, hi = rows[0], rows[-1]
            evidence.append(f"{model}·{routing}: U(N={lo.n_tokens})={num(lo.unique_experts_mean)} → U(N={hi.n_tokens})="
                            f"{num(hi.unique_experts_mean)} of E={hi.num_experts} ({run_ref(hi)})"
                            + (f"; fit n0={num(fit.n0)} R²={num(fit.r2, 3)}" if fit else ""))
        else:
            evidence.append(f"{model}·{routing}: only N={ns}")
    revisions = []
    if not passed and models:
        wanted = sorted({1, 8, 16, 32, *bundle.asked.parallel_tokens, 256})
        m = models[0]
        have = {r.n_tokens for r in bundle.rows(m)}
        pts = [PointRequest(model=m, routing=bundle.answer_routing(m) or "calibrated", n_tokens=n) for n in wanted if n not in have]
        revisions.append(_add_points(pts, "scaling needs a range of N"))
    item = RubricItem(key="scaling_with_n", question="how unique experts scale with N: numbers over a range of N, with a fit",
                      passed=passed, weight=2.0, evidence="; ".join(evidence) or "no question model in the sweep")
    return item, revisions


def _per_n(bundle: EvidenceBundle, models: list[str], field: str, hardware: str | None) -> tuple[bool, list[str], list[PointRequest]]:
    """Whether each present question model has ``field`` at every asked N (on ``hardware``)."""
    evidence, missing = [], []
    for model in models:
        for n in bundle.asked.parallel_tokens:
            row = bundle.best_row(model, n, hardware)
            value = getattr(row, field) if row else None
            if value is None:
                missing.append(PointRequest(model=model, routing=bundle.answer_routing(model) or "calibrated", n_tokens=n))
                evidence.append(f"{model} N={n}: missing")
            else:
                evidence.append(f"{model} N={n}: {num(value)} ({run_ref(row)}, {row.hardware})")
    return bool(models) and not missing, evidence, missing


def validator_ruling(bundle: EvidenceBundle, settings: TribunalSettings, report: ReportText | None = None) -> Ruling:
    """Check that the question's parts are answered with numbers and sources, and the substance checks of the role.

    Args:
        bundle: the evidence bundle (draft state).
        settings: thresholds (min_scaling_points, min_verified_fraction) and the substance checks.
        report: the report as written (review of a finished run); None in the flow's own review.
    Returns:
        The VALIDATOR's Ruling. A draft with no sweep (literature-only) is judged on its claims and citations only.
    """
    items, findings, revisions = substance_items("validator", bundle, settings, report)
    if bundle.rows() and getattr(bundle, "asked", None) is not None:
        _answered(bundle, settings, items, findings, revisions)
    _claims_and_runs(bundle, settings, items, findings, revisions)
    return Ruling(role="validator", score=rubric_score(items), items=items, findings=findings, revisions=revisions)


def _answered(bundle: EvidenceBundle, settings: TribunalSettings, items: list[RubricItem], findings: list[str],
              revisions: list[Revision]) -> None:
    """Each part of the structured question answered with a number and its source."""
    asked = bundle.asked
    models = asked_models_present(bundle)

    item, revs = _scaling(bundle, settings, models)
    items.append(item)
    revisions += revs

    missing_models = [m for m in asked.models if m not in models]
    items.append(RubricItem(key="question_models_covered", question="is every model the question names in the sweep?",
                            passed=not missing_models, weight=0.5,
                            evidence=f"missing: {', '.join(missing_models)}" if missing_models else f"all of {', '.join(models)}"))
    if missing_models:
        findings.append(f"question models without sweep points: {', '.join(missing_models)}")
        revisions.append(_add_points([PointRequest(model=m, routing="calibrated", n_tokens=n)
                                      for m in missing_models for n in asked.parallel_tokens], "models the question names"))

    checks = [
        ("tokens_64_vs_128", f"unique experts at N={' vs '.join(map(str, asked.parallel_tokens))}", "unique_experts_mean", None, 2.0),
        ("latency", f"step latency at the asked N on {asked.hardware_name}", "step_ms", asked.hardware, 1.5),
        ("bandwidth_utilisation", f"memory-bandwidth utilisation at the asked N on {asked.hardware_name}",
         "bandwidth_utilisation", asked.hardware, 1.5),
    ]
    for key, what, field, hardware, weight in checks:
        passed, evidence, missing = _per_n(bundle, models, field, hardware)
        items.append(RubricItem(key=key, question=what, passed=passed, weight=weight, evidence="; ".join(evidence) or "no rows"))
        if not passed:
            findings.append(f"no number for {what}")
            if missing and field == "unique_experts_mean":
                revisions.append(_add_points(missing, what))

    base_evidence, base_missing = [], []
    for n in asked.parallel_tokens:
        base = bundle.best_row(asked.baseline, n, asked.hardware)
        moe = bundle.best_row(models[0], n, asked.hardware) if models else None
        if base is None or base.step_ms is None:
            base_missing.append(PointRequest(model=asked.baseline, routing=DENSE_ROUTING, n_tokens=n))
        elif moe is not None and moe.step_ms is not None:
            base_evidence.append(f"N={n}: {moe.model} {num(moe.step_ms)} ms vs {asked.baseline} {num(base.step_ms)} ms "
                                 f"(×{num(moe.step_ms / base.step_ms, 3)}; {run_ref(base)})")
    base_ok = not base_missing and len(base_evidence) == len(asked.parallel_tokens)
    items.append(RubricItem(key="baseline_comparison", question=f"comparison with {asked.baseline_name} at the same N and hardware",
                            passed=base_ok, weight=1.5, evidence="; ".join(base_evidence) or "no baseline rows"))
    if base_missing:
        findings.append(f"{asked.baseline_name} comparison missing at N={[p.n_tokens for p in base_missing]}")
        revisions.append(_add_points(base_missing, "dense baseline"))


def claims_verified_item(bundle: EvidenceBundle, settings: TribunalSettings) -> tuple[RubricItem, float]:
    """The share of claims verified: contradicted (settled either way) or supported by independent evidence.

    Self-support (the claim's own paper) does not count; see tasks/tribunal/checks/claims.py.
    """
    verified = [c for c in bundle.claims if c.label == "CONTRADICTED" or independent(c)]
    empirical = [c for c in bundle.claims if c.empirical]
    share = len(verified) / len(bundle.claims) if bundle.claims else 0.0
    return RubricItem(
        key="claims_verified", question=f"are >= {settings.min_verified_fraction:.0%} of the claims verified on independent evidence?",
        passed=bool(bundle.claims) and share >= settings.min_verified_fraction, weight=1.0,
        evidence=f"{len(verified)}/{len(bundle.claims)} verified independently ({bundle.verifier}); "
                 f"{len(empirical)} checked against our runs",
    ), share


def _claims_and_runs(bundle: EvidenceBundle, settings: TribunalSettings, items: list[RubricItem], findings: list[str],
                     revisions: list[Revision]) -> None:
    """Claims verified on independent evidence; numbers traceable to runs."""
    asked = getattr(bundle, "asked", None)
    item, share = claims_verified_item(bundle, settings)
    items.append(item)
    if not bundle.claims:
        findings.append("no claims were extracted or verified")
    elif share < settings.min_verified_fraction:
        findings.append(f"only {share:.0%} of claims verified")
        revisions.append(Revision(kind="manual", automatable=False, raised_by="validator",
                                  text="verify more claims (more evidence, full texts, or the llm verifier)"))

    if not bundle.rows() or asked is None:
        return
    rows = [r for r in bundle.rows() if r.model in set(asked.models) | {asked.baseline}]
    no_run = [r.label for r in rows if not r.run_id]
    measured = [r for r in rows if r.measured]
    prov_ok = not measured or (bundle.gpu_provenance is not None and bundle.gpu_provenance.complete)
    repro = bool(bundle.mlflow_run_id) and bool(rows) and not no_run and prov_ok
    items.append(RubricItem(
        key="reproducible", question="can the numbers be traced to runs (MLflow ids, GPU provenance)?", passed=repro, weight=1.5,
        evidence=f"parent run {bundle.mlflow_run_id or 'missing'}; {len(rows) - len(no_run)}/{len(rows)} rows with a run id; "
                 f"GPU provenance: {'n/a (nothing measured)' if not measured else ('complete' if prov_ok else 'incomplete or missing')}",
    ))
    if not repro:
        findings.append("results are not fully traceable: " + ("missing GPU provenance" if not prov_ok else
                                                               f"{len(no_run)} rows without a run id" if no_run else "no parent run"))
