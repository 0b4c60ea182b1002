"""The limitations state every threat the evidence carries: synthetic routing, the projection rule, the harness.

What must be disclosed is read from the bundle, not from a list tuned to one report:
- unique-expert counts from a routing model (not a trace) -> the limitations name the routing as modelled/synthetic;
- figures projected to another GPU (``h100_projected_ms``, per-token rows labelled projected) -> the projection;
- measured step times far below their own roofline at N=1 (the harness reaches under half of the datasheet
  ceiling) -> the harness efficiency, quantified: the share of the roofline (±1.5 points) or the measured N=1 time.
The limitations are the ``Limitations`` section, or ``Uncertainties`` where a draft has no such section.
"""

from __future__ import annotations

import re

from tasks.tribunal.bundle import hardware_family
from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.report_text import numbers
from tasks.tribunal.checks.values import matches

LOW_EFFICIENCY = 0.5


def harness(ctx: CheckContext) -> list[tuple[str, float, float]]:
    """(model, measured N=1 ms, roofline/measured) for measured N=1 rows below LOW_EFFICIENCY of their roofline."""
    b, out = ctx.bundle, []
    for r in b.rows(n_tokens=1, measured=True):
        fam = hardware_family(r.source.removeprefix("measured:"))
        roof = [x.step_ms for x in b.rows(r.model, 1) if not x.measured and hardware_family(x.hardware) == fam and x.step_ms]
        if roof and r.step_ms and roof[0] / r.step_ms < LOW_EFFICIENCY:
            out.append((r.model, r.step_ms, roof[0] / r.step_ms))
    return out


def _states(text: str, what: str) -> bool:
    low = text.lower()
    if what == "routing":
        return bool(re.search(r"rout\w*", low)) and bool(re.search(r"synthetic|modell?ed|fitted|calibrat|not measured|simulat", low))
    if what == "projection":
        return bool(re.search(r"project\w*|scaled|extrapolat\w* to", low))
    return False


@register("limitations_stated", "skeptic", "do the limitations state the threats the evidence carries (synthetic routing, "
          "projection, harness efficiency)?")
def limitations_stated(ctx: CheckContext) -> CheckResult:
    b = ctx.bundle
    if ctx.report is None or not ctx.experimental:
        return not_applicable("limitations_stated", "no report text" if ctx.report is None else "no experimental results")
    text = ctx.report.section("Limitations") or ctx.report.section("Uncertainties") or ""
    findings = []
    modelled = [r for r in b.rows() if not r.dense and r.routing != "trace" and r.unique_experts_mean is not None
                and not str(r.experts_provenance).startswith("measured")]
    if modelled and not _states(text, "routing"):
        findings.append(Finding(kind="missing_limitation", where="Limitations",
                                message=f"unique experts come from a routing model ({', '.join(sorted({r.routing for r in modelled}))}) "
                                        "but the limitations never say the routing is synthetic/modelled"))
    projected = [r for r in b.rows() if r.h100_projected_ms is not None] + \
        [t for t in b.token_latency if str(t.provenance).startswith("projected")]
    if projected and not _states(text, "projection"):
        findings.append(Finding(kind="missing_limitation", where="Limitations",
                                message=f"{len(projected)} figures are projected to another GPU but the limitations do not "
                                        "state the projection rule"))
    slow = harness(ctx)
    if slow:
        nums = numbers(text)
        told = any(any(n.percent and abs(n.value - 100 * eff) <= 1.5 for n in nums)
                   or any(matches(n.value, n.decimals, ms, ctx.rel_tol) and re.match(r"\s*ms", n.unit_after) for n in nums)
                   for _m, ms, eff in slow)
        if not told:
            model, ms, eff = slow[0]
            findings.append(Finding(kind="missing_limitation", where="Limitations",
                                    message=f"the harness reaches {100 * eff:.0f}% of the roofline at N=1 ({model}: {ms:.3g} ms "
                                            "measured), which compresses the measured cost of expert explosion, but the "
                                            "limitations do not state the harness efficiency"))
    return result("limitations_stated", findings, f"routing modelled: {bool(modelled)}; projected figures: {len(projected)}; "
                  f"harness below {LOW_EFFICIENCY:.0%} of roofline: {', '.join(m for m, _a, _b in slow) or 'none'}")
