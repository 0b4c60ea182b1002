"""Comparisons with the baseline use the same unit: latency per committed token, never one diffusion step against one forward."""

from __future__ import annotations

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import has_any, lexicon


def _baseline(ctx: CheckContext) -> tuple[str | None, str | None]:
    asked = getattr(ctx.bundle.question, "structured", None)
    return (getattr(asked, "baseline", None), getattr(asked, "baseline_name", None))


def _forward_as_comparator(ctx: CheckContext, base: str, base_name: str | None) -> list[Finding]:
    """A number in the abstract or conclusion that can only be one N-token forward of the baseline (its step time at N>1)."""
    from tasks.tribunal.checks.report_text import numbers
    from tasks.tribunal.checks.values import bundle_values, trace

    values = bundle_values(ctx.bundle)
    out = []
    for name in ("Abstract", "Conclusion"):
        for n in numbers(ctx.report.section(name) or ""):
            found = trace(n.value, n.decimals, values, ctx.rel_tol, n.unit)
            if found and all(v.model == base and v.field == "step_ms" and v.n_tokens > 1 for v in found):
                out.append(Finding(kind="step_vs_token", where=name,
                                   message=f"'{n.text}' is one {found[0].n_tokens}-token forward of {base_name or base} "
                                           f"({found[0].what}), not its latency per committed token"))
    return out


@register("same_units", "skeptic", "are the model and the baseline compared in the same unit (per committed token)?")
def same_units(ctx: CheckContext) -> CheckResult:
    b = ctx.bundle
    base, base_name = _baseline(ctx)
    if not ctx.experimental or not base or not (b.rows(base) or any(t.model == base for t in b.token_latency)):
        return not_applicable("same_units", "no baseline comparison in the draft")
    lex = lexicon()
    findings = []
    base_rows = [t for t in b.token_latency if t.model == base]
    moe_rows = [t for t in b.token_latency if t.model != base]
    for t in base_rows:
        if t.tokens_per_step > 1.0 + 1e-9 or (t.tokens_per_step_high or 0) > 1.0 + 1e-9:
            findings.append(Finding(kind="baseline_credited_parallel_tokens", where="bundle.token_latency",
                                    message=f"{base_name} is credited with {t.tokens_per_step:g} tokens per step "
                                            f"({t.decoding}); an autoregressive baseline commits at most 1"))
        if t.step_ms and t.per_token_ms < t.step_ms / max(t.tokens_per_step, 1.0) * 0.99:
            findings.append(Finding(kind="baseline_credited_parallel_tokens", where="bundle.token_latency",
                                    message=f"{base_name} per-token latency {t.per_token_ms:.4g} ms is below its step time "
                                            f"{t.step_ms:.4g} ms"))
    if not base_rows or not moe_rows:
        findings.append(Finding(kind="no_per_token_comparison", where="bundle.token_latency",
                                message=f"no latency per committed token for {'the MoE models' if not moe_rows else base_name}: "
                                        "one diffusion step is compared with one forward of the baseline"))
    if ctx.report is not None:
        for name in ("Abstract", "Conclusion"):
            body = ctx.report.section(name) or ""
            if base_name and base_name in body and "ms" in body and not has_any(body, lex.get("per_token", [])):
                findings.append(Finding(kind="step_vs_token", where=name,
                                        message=f"the {name.lower()} compares latency with {base_name} but never per committed token"))
            hit = has_any(body, lex.get("per_step_comparison", []))
            if hit:
                findings.append(Finding(kind="step_vs_token", where=name,
                                        message=f"the {name.lower()} compares per step ('{hit}') instead of per committed token"))
    if ctx.report is not None:
        findings += _forward_as_comparator(ctx, base, base_name)
    return result("same_units", findings, f"{len(moe_rows)} MoE and {len(base_rows)} baseline per-token rows"
                  + (f"; baseline commits {', '.join(f'{t.tokens_per_step:g}' for t in base_rows)} token(s)/step" if base_rows else ""))
