"""Numbers respect their physical bounds and units: shares of a ceiling stay at or under 100%, and a latency's unit
agrees with the run's value of the same quantity.

Two defects a domain expert spots at a glance: a bandwidth utilisation of 169% (of the datasheet or the measured copy
bandwidth: impossible), and a decode latency written as 36.5 µs when every timing of the run is in milliseconds (the
same digits, a 1000× error that makes the baseline look 1000× faster). A time in µs, ns or s is a unit error when its
digits match a time of the run in ms while its value converted to ms matches none. Ceiling words and units are data
(conf/tribunal/quantities.yaml).
"""

from __future__ import annotations

import re

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import has_any, tribunal_data
from tasks.tribunal.checks.md_tables import cell_numbers, tables
from tasks.tribunal.checks.prose import QUOTED, sentences
from tasks.tribunal.checks.report_text import numbers
from tasks.tribunal.checks.values import Value, bundle_values, matches

PROSE = ("Abstract", "Introduction", "Results", "Discussion", "Limitations", "Conclusion")
TIME_FIELDS = ("step_ms", "per_token_ms", "h100_projected_ms", "sensitivity step_ms", "sensitivity per_token_ms")


def quantities() -> dict:
    return tribunal_data("quantities")


def _unit(after: str) -> str:
    m = re.match(r"\s*([µμ]s|us|ns|ms|seconds|sec|s)\b", after)
    return m.group(1) if m else ""


CLAUSE_BREAK = re.compile(r";|,\s|\s(?:and|while|whereas|but|against|vs\.?)\s|\(|\)")


def _clause(sentence: str, number: str) -> str:
    """The clause of ``sentence`` that holds ``number`` (split at ; , and/while/against and brackets)."""
    i = sentence.find(number)
    if i < 0:
        return sentence
    cuts = [m for m in CLAUSE_BREAK.finditer(sentence)]
    start = max([m.end() for m in cuts if m.end() <= i] or [0])
    end = min([m.start() for m in cuts if m.start() >= i + len(number)] or [len(sentence)])
    return sentence[start:end]


def _times(values: list[Value]) -> list[Value]:
    return [v for v in values if v.what.startswith(TIME_FIELDS)]


def _percent_bounds(ctx: CheckContext) -> list[Finding]:
    words = quantities().get("ceiling_words", [])
    out = []
    for sec in PROSE:
        for n in numbers(ctx.report.section(sec) or ""):
            if n.percent and n.value > 100.5:
                # the ceiling word must sit in the number's own clause, not anywhere in a long sentence
                hit = has_any(_clause(n.sentence, n.text), words)
                if hit:
                    out.append(Finding(kind="impossible_value", where=sec,
                                       message=f"'{n.text}%' is a share of a ceiling ('{hit}') above 100%: "
                                               f"\"{n.sentence[:120]}\""))
    for t in tables(ctx.report.markdown):
        for row in t:
            for head, cell in row.items():
                if any(w in head for w in ("util", "activated", "efficien")) and "%" in cell:
                    over = [x for x in cell_numbers(cell) if x > 100.5]
                    if over:
                        out.append(Finding(kind="impossible_value", where="table",
                                           message=f"column '{head}' shows {over[0]:g}% (above 100%) in row "
                                                   f"{' | '.join(list(row.values())[:4])}"))
    return out


EXPERTS_AFTER = re.compile(r"\s*(?:\([^)]*\)\s*)?(?:(?:distinct|unique|routed|active|activated)\s+)*experts\b", re.I)


def _expert_bounds(ctx: CheckContext) -> list[Finding]:
    """Our own (tagged, not published) expert counts cannot exceed the largest routed-expert count E of the run."""
    top = max((r.num_experts for r in ctx.bundle.rows() if not r.dense and r.num_experts), default=None)
    if not top:
        return []
    out = []
    for sec in PROSE:
        for n in numbers(ctx.report.section(sec) or ""):
            if n.tag and n.tag[0] != "published" and not n.percent and n.value > top + 0.5 and EXPERTS_AFTER.match(n.unit_after):
                out.append(Finding(kind="impossible_value", where=sec,
                                   message=f"'{n.text}' experts exceeds the {top} routed experts per layer of any model of the run: "
                                           f"\"{n.sentence[:120]}\""))
    return out


def _bundle_bounds(ctx: CheckContext) -> list[Finding]:
    out = []
    for r in ctx.bundle.rows():
        for name in ("bandwidth_utilisation", "activated_fraction"):
            v = getattr(r, name, None)
            if v is not None and v > 1.05:
                out.append(Finding(kind="impossible_value", where="bundle.sweep",
                                   message=f"{r.label} on {r.hardware}: {name} {100 * v:.0f}% exceeds 100%"))
        if r.unique_experts_mean is not None and r.num_experts and r.unique_experts_mean > r.num_experts + 1e-6:
            out.append(Finding(kind="impossible_value", where="bundle.sweep",
                               message=f"{r.label}: {r.unique_experts_mean:.4g} unique experts of {r.num_experts}"))
    return out


def _memory_unit(after: str) -> str:
    m = re.match(r"\s*([KMGTP]i?B)\b(?!/s)", after)
    return m.group(1) if m else ""


def _bandwidth_unit(after: str) -> str:
    m = re.match(r"\s*([KMGTP]i?B/s)", after)
    return m.group(1) if m else ""


def _time_units(ctx: CheckContext) -> list[Finding]:
    """Times (base ms), memory sizes (base GB) and bandwidths (base TB/s) whose digits match the run in the base unit
    but not in the unit written (a GB figure relabelled GiB, a TB/s datasheet figure written as GB/s)."""
    values = bundle_values(ctx.bundle)
    q = quantities()
    families = (("ms", _times(values), q.get("time_units", {}), _unit),
                ("GB", [v for v in values if "GB" in v.what], q.get("memory_units", {}), _memory_unit),
                ("TB/s", [v for v in values if "TB/s" in v.what], q.get("bandwidth_units", {}), _bandwidth_unit))
    out = []
    for base, pool, scale, unit_of in families:
        out += _unit_family(ctx, base, pool, scale, unit_of)
    return out


def _unit_family(ctx: CheckContext, base: str, times: list[Value], scale: dict, unit_of) -> list[Finding]:
    if not times:
        return []
    out = []
    for sec in PROSE:
        body = ctx.report.section(sec) or ""
        quoted = [m.span() for m in QUOTED.finditer(body)]
        for n in numbers(body):
            unit = unit_of(n.unit_after)
            if not unit or unit == base or unit not in scale or any(a <= n.start < b for a, b in quoted):
                continue  # a quotation gives the paper's own unit (quotes_faithful checks the quote)
            same_digits = [v for v in times if matches(n.value, n.decimals, v.value, ctx.rel_tol)]
            in_ms = n.value * float(scale[unit])
            converted = [v for v in times if abs(v.value - in_ms) <= max(0.02 * abs(v.value), 1e-9)]
            if same_digits and not converted:
                out.append(Finding(kind="unit_mismatch", where=sec,
                                   message=f"'{n.text} {unit}' matches the run's {same_digits[0].what} = "
                                           f"{same_digits[0].value:.4g} {base}; in {base} it would be {in_ms:.4g} {base}, which "
                                           f"no value of the run supports: \"{n.sentence[:120]}\""))
    return out


LAYER_E = re.compile(r"\b(?:over|of|among|from|with)\s+(\d+)\s+(?:routed\s+)?experts\b", re.I)
DISTINCT = re.compile(r"\b(\d+)\s+(?:distinct|unique|different)\s+(?:routed\s+)?experts\b", re.I)


def _stated_expert_bounds(ctx: CheckContext) -> list[Finding]:
    """A sentence that gives a layer's expert count E cannot have more distinct experts than E ('top-8 over 64
    experts ... 256 distinct experts')."""
    out = []
    for sec, s in sentences(ctx.report, PROSE):  # the draft's own sentences: a quoted paper speaks of its own layers
        layer = [int(m.group(1)) for m in LAYER_E.finditer(s)]
        over = [int(m.group(1)) for m in DISTINCT.finditer(s) if layer and int(m.group(1)) > max(layer)]
        if over:
            out.append(Finding(kind="impossible_value", where=sec,
                               message=f"{over[0]} distinct experts in a layer of {max(layer)}: \"{s[:120]}\""))
    return out


@register("physical_bounds", "skeptic", "do shares of a ceiling stay at or under 100% and do the time units agree with the run?")
def physical_bounds(ctx: CheckContext) -> CheckResult:
    if not ctx.experimental:
        if ctx.report is None or not (found := _stated_expert_bounds(ctx)):
            return not_applicable("physical_bounds", "no experimental results")
        return result("physical_bounds", found, "expert counts stated against their layer checked")
    findings = _bundle_bounds(ctx)
    if ctx.report is not None:
        findings += _percent_bounds(ctx) + _time_units(ctx) + _expert_bounds(ctx) + _stated_expert_bounds(ctx)
    return result("physical_bounds", findings, "percent shares, expert counts and time units checked")
