"""Numbers in the abstract and the conclusion trace to the bundle, and each one's provenance tag matches its source."""

from __future__ import annotations

from tasks.tribunal.bundle import hardware_family
from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import has_any, lexicon
from tasks.tribunal.checks.report_text import Number, numbers
from tasks.tribunal.checks.values import COMPATIBLE, Value, bundle_values, trace

SECTIONS = ("Abstract", "Discussion", "Conclusion")


def _reported(ctx: CheckContext) -> list[tuple[str, Number, list[Value]]]:
    """(section, number, bundle values it may stand for) for every result number of the abstract and conclusion."""
    meta = lexicon().get("meta_sentence", [])
    values = bundle_values(ctx.bundle)
    out = []
    for name in SECTIONS:
        body = ctx.report.section(name) if ctx.report else None
        for n in numbers(body or ""):
            if n.ratio or has_any(n.sentence, meta):
                continue
            out.append((name, n, trace(n.value, n.decimals, values, ctx.rel_tol, n.unit)))
    return out


def _short(n: Number) -> str:
    return f"'{n.text}{'%' if n.percent else ''}' in \"{n.sentence[:110]}\""


def _needs_tag(n: Number, found: list[Value]) -> bool:
    """An untagged number is a defect when it may be a measurement, a projection or a model's output (not a count, a
    datasheet or paper figure); a bare integer under 10 is let go when a model value explains it ('needs 4' GPUs)."""
    kinds = {v.kind for v in found}
    if not kinds & {"measured", "projected", "modelled"} or kinds & {"count", "published"}:
        return False
    if kinds & {"measured", "projected"}:
        return n.decimals > 0 or "modelled" not in kinds
    return n.decimals > 0 or n.value >= 10


@register("numbers_traced", "validator", "does every number in the abstract and conclusion trace to a run, a paper or the "
          "model, with a provenance tag?")
def numbers_traced(ctx: CheckContext) -> CheckResult:
    if ctx.report is None:
        return not_applicable("numbers_traced", "no report text (in-flow review of the draft bundle)")
    reported = _reported(ctx)
    if not reported:
        return not_applicable("numbers_traced", "no numbers in the abstract or conclusion")
    findings = []
    for section, n, found in reported:
        if not found:
            findings.append(Finding(kind="untraced_number", where=section,
                                    message=f"{_short(n)} matches no number of the run, the papers or the model"))
        elif n.tag is None and _needs_tag(n, found):
            findings.append(Finding(kind="untagged_number", where=section,
                                    message=f"{_short(n)} has no provenance tag [measured|modelled|published|projected: source] "
                                            f"(it is {found[0].kind}: {found[0].what})"))
    traced = sum(bool(f) for _s, _n, f in reported)
    return result("numbers_traced", findings, f"{traced}/{len(reported)} numbers traced; "
                  f"{sum(n.tag is not None for _s, n, _f in reported)} tagged")


@register("provenance_labels", "skeptic", "does each number's provenance label match where it came from?")
def provenance_labels(ctx: CheckContext) -> CheckResult:
    findings = []
    b = ctx.bundle
    prov_fam = hardware_family(b.gpu_provenance.gpu) if b.gpu_provenance else None
    for r in b.rows(measured=True):
        fam = hardware_family(r.source.removeprefix("measured:"))
        if prov_fam is None or fam != prov_fam:
            findings.append(Finding(kind="projection_as_measurement", where="bundle.sweep",
                                    message=f"{r.label} is labelled {r.source} but the run's GPU measurements are from "
                                            f"{b.gpu_provenance.gpu if b.gpu_provenance else 'no GPU'}"))
    checked = 0
    if ctx.report is not None:
        for section, n, found in _reported(ctx):
            label = n.tag or n.legacy_tag
            if label is None or not found:
                continue
            checked += 1
            kind = label[0]
            if not any(v.kind == "count" or v.kind in COMPATIBLE[kind] for v in found):
                findings.append(Finding(kind="provenance_mismatch", where=section,
                                        message=f"{_short(n)} is labelled {kind}: {label[1][:40]} but it is "
                                                f"{found[0].kind} ({found[0].what})"))
    if not checked and not b.rows(measured=True):
        return not_applicable("provenance_labels", "no tagged numbers and no measured rows")
    return result("provenance_labels", findings, f"{checked} tagged numbers and {len(b.rows(measured=True))} measured rows checked")
