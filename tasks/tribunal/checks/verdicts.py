"""An empirical verdict says truthfully what its number rests on, and only a measurement contradicts a paper.

A claim checked against our runs carries a metric (``unique_experts_mean.exponent``, ``step_ms`` ...), a value and a
basis (``source``: measured | modelled | projected). The basis is a property of the quantity, which the bundle records
per row: unique-expert counts are ``modelled`` unless replayed from a trace (``experts_provenance``), step times are
measured only on measured rows. A verdict whose basis says measured for a quantity no run measured is mislabelled, and a
CONTRADICTED verdict resting on a model alone, which the draft still shows (stated or softened), overrules a paper with
a model (the verifier's own rule: a model is not evidence enough to contradict a claim).
"""

from __future__ import annotations

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result

EXPERT_QUANTITIES = ("unique_experts", "activated_fraction", "experts")
TIME_QUANTITIES = ("step_ms", "bandwidth_util", "tokens_per_s", "per_token_ms", "latency", "measured_")


def quantity_class(ctx: CheckContext, metric: str) -> str | None:
    """'measured' or 'modelled' for the quantity behind ``metric`` as the bundle's rows record it; None if unknown."""
    root = metric.split(".", 1)[0].lower()
    rows = [r for r in ctx.bundle.rows() if not r.dense]
    if root.startswith(EXPERT_QUANTITIES):
        return "measured" if any(str(r.experts_provenance).startswith("measured") for r in rows) else "modelled"
    if root.startswith(TIME_QUANTITIES):
        return "measured" if ctx.bundle.rows(measured=True) else "modelled"
    if root in ("memory_bound", "compute_bound", "bound", "roofline"):
        return "modelled"
    return None


@register("empirical_verdicts_grounded", "skeptic", "does every empirical verdict state its true basis, and does only a "
          "measurement contradict a paper?")
def empirical_verdicts_grounded(ctx: CheckContext) -> CheckResult:
    rows = [c for c in ctx.bundle.claims if c.verdict is not None and c.verdict.metric]
    if not rows or not ctx.experimental:
        return not_applicable("empirical_verdicts_grounded", "no claim was checked against our runs")
    findings = []
    for c in rows:
        v = c.verdict
        cls = quantity_class(ctx, v.metric)
        if cls is None:
            continue
        if (v.source or "") == "measured" and cls != "measured":
            findings.append(Finding(kind="verdict_basis_mislabelled", where="bundle.claims",
                                    message=f"{c.claim.claim_id}: the verdict's basis is 'measured' but {v.metric} rests on "
                                            f"{cls} numbers (no run measured it)"))
        if v.label == "CONTRADICTED" and cls != "measured" and c.disposition != "dropped":
            findings.append(Finding(kind="contradicted_on_model", where="bundle.claims",
                                    message=f"{c.claim.claim_id} is CONTRADICTED on {v.metric}, a {cls} quantity; a model "
                                            "cannot overrule a paper's measurement"))
    return result("empirical_verdicts_grounded", findings, f"{len(rows)} empirical verdicts checked")


@register("corroboration_grounded", "validator", "is every verdict marked corroborated backed by a paper other than the "
          "claim's own?")
def corroboration_grounded(ctx: CheckContext) -> CheckResult:
    from tasks.tribunal.checks.claims import _other_paper_support

    marked = [c for c in ctx.bundle.claims if c.verdict is not None and getattr(c.verdict, "corroborated", False)]
    if not ctx.bundle.claims:
        return not_applicable("corroboration_grounded", "no claims")
    bad = [c for c in marked if not _other_paper_support(c)]
    findings = [Finding(kind="self_supported_claim", where="bundle.claims",
                        message=f"{c.claim.claim_id} is marked corroborated, but its deciding evidence is only its own paper "
                                f"({c.claim.source_id})") for c in bad[:8]]
    return result("corroboration_grounded", findings, f"{len(marked) - len(bad)}/{len(marked)} corroborated verdicts cite "
                  "another paper")
