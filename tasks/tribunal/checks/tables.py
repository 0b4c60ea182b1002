"""The report's derived tables and the prose that summarises them agree with the evidence bundle.

An owner (or a careless edit) can change a table of report.md without touching the bundle the numbers came from:
validation errors made smaller, a sensitivity band narrowed, a dense baseline credited with parallel tokens, a model
marked as fitting a GPU it does not fit. Each row of the validation, sensitivity, per-committed-token and feasibility
tables is matched to its bundle row (model, N or block, hardware) and its numbers compared at the table's precision.
The prose is held to the same rows: "reproduces ... within X%" may not undercut the worst out-of-sample error, a
validation said to cover N beyond the validated blocks overstates its scope, and "<model> fits on one" must agree with
the feasibility row of the GPU the sentence names.
"""

from __future__ import annotations

import re

from tasks.tribunal.bundle import EvidenceBundle, hardware_family
from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import conf_yaml
from tasks.tribunal.checks.md_tables import cell_numbers, close, column, tables

PROSE = ("Abstract", "Introduction", "Discussion", "Limitations", "Conclusion")
ARXIV = re.compile(r"\d{4}\.\d{4,5}")
WITHIN = re.compile(r"within\s+(\d+(?:\.\d+)?)\s*%", re.I)
VALIDATED = re.compile(r"\bvalidat\w*", re.I)
VALID_UPTO = re.compile(r"\bvalidat\w*(?:\s+[\w-]+){0,5}?\s+(?:only\s+)?(?:up\s+to|to|through|until)\s+(?:blocks?\s+(?:size\s+)?(?:of\s+)?|N\s*=\s*|B\s*=\s*)(\d+)", re.I)
N_AT = re.compile(r"\b(?:N\s*=\s*|blocks?\s+(?:of\s+)?|N\s*≤\s*|N\s*<=\s*)(\d+)((?:\s*(?:,|and|or|/)\s*\d+)*)", re.I)
SCOPE_HEDGE = re.compile(r"\b(?:only|beyond|extrapolat\w*|not|outside|above|up to|until|never)\b", re.I)
FITS = re.compile(r"\bfits?\s+(?:on|in(?:to)?)\s+(?:one|a single|1)\b", re.I)
NEEDS = re.compile(r"\bneeds?\s+(\d+)(?![\d.])(?!\s*(?:GB|GiB|TB|MB|ms|%))|\bon\s+(\d+)\s*[×x]\s", re.I)


def _rows_under(ctx: CheckContext, heading: str) -> list[dict[str, str]]:
    body = ctx.report.section(heading) if ctx.report else None
    return [r for t in tables(body) for r in t]


def _same_hw(cell: str, hardware: str) -> bool:
    return cell.strip() == hardware.strip() or (hardware_family(cell) == hardware_family(hardware)
                                                 and ("x2" in cell) == ("x2" in hardware))


def _validation(ctx: CheckContext) -> list[Finding]:
    out = []
    for row in _rows_under(ctx, "Validation"):
        model, block = column(row, "model"), cell_numbers(column(row, "block", "n") or "")
        cands = [v for v in ctx.bundle.validation if v.model == model and (not block or v.n_tokens == int(block[0]))]
        if not cands:
            continue
        v = cands[0]
        for name, want in (("published", v.published), ("modelled", v.modelled), ("error", v.error_pct)):
            nums = cell_numbers(column(row, name) or "")
            if nums and not close(nums[0], want) and not (name == "error" and close(abs(nums[0]), abs(want))):
                out.append(Finding(kind="table_mismatch", where="Validation",
                                   message=f"validation row {model} block {v.n_tokens}: {name} is {nums[0]:g} in the table "
                                           f"but {want:.3g} in the run's validation data"))
        cited = set(ARXIV.findall(column(row, "citation", "source") or ""))
        if cited and not cited & set(ARXIV.findall(v.citation)):
            out.append(Finding(kind="misattributed", where="Validation",
                               message=f"validation row {model} block {v.n_tokens} credits arXiv {', '.join(sorted(cited))}, "
                                       f"but the published value comes from {v.citation}"))
    return out


def _sensitivity(ctx: CheckContext) -> list[Finding]:
    out = []
    for row in _rows_under(ctx, "Sensitivity"):
        model, n, hw = column(row, "model"), cell_numbers(column(row, "n") or ""), column(row, "hardware") or ""
        cands = [s for s in ctx.bundle.sensitivity if s.model == model and n and s.n_tokens == int(n[0]) and _same_hw(hw, s.hardware)]
        if not cands:
            continue
        s = cands[0]
        for name, want in (("experts band", (s.experts_low, s.experts_high)), ("step ms band", (s.step_ms_low, s.step_ms_high)),
                           ("ms per committed token", (s.per_token_ms_low, s.per_token_ms_high))):
            nums = cell_numbers(column(row, name) or "")
            if len(nums) >= 2 and None not in want and not (close(nums[0], want[0]) and close(nums[1], want[1])):
                out.append(Finding(kind="table_mismatch", where="Sensitivity",
                                   message=f"sensitivity row {model} N={s.n_tokens} on {s.hardware}: {name} {nums[0]:g}–{nums[1]:g} "
                                           f"but the run's band is {want[0]:.4g}–{want[1]:.4g}"))
    return out


def _latency(ctx: CheckContext) -> list[Finding]:
    out = []
    base = getattr(ctx.bundle.asked, "baseline", None)
    for row in _rows_under(ctx, "Latency per committed token"):
        model, n, hw = column(row, "model"), cell_numbers(column(row, "n") or ""), column(row, "hardware") or ""
        tps = cell_numbers(column(row, "tokens per step") or "")
        if model and (model == base or conf_yaml("model", model).get("family") == "dense") and any(t > 1.0 + 1e-9 for t in tps):
            out.append(Finding(kind="baseline_credited_parallel_tokens", where="Latency per committed token",
                               message=f"{model} (dense, autoregressive) is credited with {max(tps):g} tokens per step in the "
                                       "table; an autoregressive decode commits one"))
        cands = [t for t in ctx.bundle.token_latency if t.model == model and n and t.n_tokens == int(n[0]) and _same_hw(hw, t.hardware)]
        if not cands:
            continue
        t = cands[0]
        for name, want in (("step ms", t.step_ms), ("tokens per step", t.tokens_per_step), ("ms per committed token", t.per_token_ms)):
            nums = cell_numbers(column(row, name) or "")
            if nums and not close(nums[0], want):
                out.append(Finding(kind="table_mismatch", where="Latency per committed token",
                                   message=f"per-token row {model} N={t.n_tokens} on {t.hardware}: {name} {nums[0]:g} in the table "
                                           f"but {want:.4g} in the run"))
    return out


def _feasibility_table(ctx: CheckContext) -> list[Finding]:
    out = []
    for row in _rows_under(ctx, "Feasibility"):
        model, hw = column(row, "model"), column(row, "gpu", "hardware") or ""
        cands = [f for f in ctx.bundle.feasibility if f.model == model and _same_hw(hw, f.hardware)]
        if not cands:
            continue
        f = cands[0]
        fits = (column(row, "fits") or "").strip("* ").lower()
        need = cell_numbers(column(row, "gpus needed") or "")
        if fits in ("yes", "no") and (fits == "yes") != f.fits or need and int(need[0]) != f.gpus_needed:
            out.append(Finding(kind="infeasible_hardware", where="Feasibility",
                               message=f"feasibility row {model} on {f.hardware} says fits={fits or '?'}, "
                                       f"{int(need[0]) if need else '?'} GPU(s); the run says fits={f.fits}, {f.gpus_needed} GPU(s) "
                                       f"({f.weights_gb:.0f} GB vs {f.gpu_memory_gb:.0f} GB)"))
    return out


def _names(model: str) -> list[str]:
    spec = conf_yaml("model", model)
    return [x for x in (spec.get("display_name"), model) if x]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.;!?])\s+|\n+", text) if s.strip()]


def _feasibility_prose(ctx: CheckContext) -> list[Finding]:
    """'<model> ... fits on one' against the feasibility row of the target GPU (the asked hardware, else any named)."""
    b: EvidenceBundle = ctx.bundle
    asked_hw = getattr(b.asked, "hardware", None)
    out = []
    for sec in PROSE + ("Results",):
        for clause in _sentences(ctx.report.section(sec) or ""):
            for part in re.split(r";|,\s+(?=[A-Z])", clause):
                rows = [f for f in b.feasibility if any(n in part for n in _names(f.model))]
                if not rows:
                    continue
                named = [f for f in rows if hardware_family(f.hardware) in part.lower().replace(" ", "")]
                target = named or [f for f in rows if asked_hw and hardware_family(f.hardware) == hardware_family(asked_hw)]
                for f in target[:1]:
                    if FITS.search(part) and not f.fits:
                        out.append(Finding(kind="infeasible_hardware", where=sec,
                                           message=f"says {_names(f.model)[0]} fits on one {f.hardware}, but it needs "
                                                   f"{f.gpus_needed} ({f.weights_gb:.0f} GB of weights vs {f.gpu_memory_gb:.0f} GB): \"{part.strip()[:120]}\""))
                    said = next((int(next(g for g in m.groups() if g)) for m in NEEDS.finditer(part)), None)
                    said = None if FITS.search(part) else said
                    if said is not None and said < f.gpus_needed:
                        out.append(Finding(kind="infeasible_hardware", where=sec,
                                           message=f"says {_names(f.model)[0]} needs {said} × {f.hardware}; the run says "
                                                   f"{f.gpus_needed}: \"{part.strip()[:120]}\""))
    return out


def _validation_prose(ctx: CheckContext) -> list[Finding]:
    oos = [v for v in ctx.bundle.validation if not v.used_for_fit]
    if not ctx.bundle.validation:
        return []
    worst = max((abs(v.error_pct) for v in oos), default=None)
    top = max(v.n_tokens for v in ctx.bundle.validation)
    out = []
    for sec in PROSE:
        for s in _sentences(ctx.report.section(sec) or ""):
            low = s.lower()
            if worst is not None and ("reproduc" in low or VALIDATED.search(s) or "published" in low):
                for m in WITHIN.finditer(s):
                    if float(m.group(1)) + 0.05 < worst:
                        out.append(Finding(kind="validation_overstated", where=sec,
                                           message=f"says within {m.group(1)}% but the worst out-of-sample validation error "
                                                   f"is {worst:.1f}%: \"{s.strip()[:120]}\""))
            for m in VALID_UPTO.finditer(s):  # "validated (only) up to block X": the hedge states the reach, so X is checked
                if int(m.group(1)) > top:
                    out.append(Finding(kind="validation_overstated", where=sec,
                                       message=f"says the routing model is validated up to {m.group(1)}, but validation runs "
                                               f"only to {top}: \"{s.strip()[:120]}\""))
            if VALIDATED.search(s) and not SCOPE_HEDGE.search(s):
                for m in N_AT.finditer(s):
                    ns = [int(x) for x in re.findall(r"\d+", m.group(0))]
                    beyond = [n for n in ns if n > top]
                    if beyond:
                        out.append(Finding(kind="validation_overstated", where=sec,
                                           message=f"says the routing model is validated at N={beyond}, but validation runs "
                                                   f"only to {top}: \"{s.strip()[:120]}\""))
                        break
    return out


@register("tables_match_bundle", "validator", "do the report's validation, sensitivity, per-token and feasibility tables "
          "and the prose that summarises them agree with the run?")
def tables_match_bundle(ctx: CheckContext) -> CheckResult:
    b = ctx.bundle
    if ctx.report is None or not (b.validation or b.sensitivity or b.token_latency or b.feasibility):
        return not_applicable("tables_match_bundle", "no report text" if ctx.report is None else "no derived tables")
    findings = (_validation(ctx) + _sensitivity(ctx) + _latency(ctx) + _feasibility_table(ctx)
                + _feasibility_prose(ctx) + _validation_prose(ctx))
    return result("tables_match_bundle", findings, f"{len(b.validation)} validation, {len(b.sensitivity)} sensitivity, "
                  f"{len(b.token_latency)} per-token and {len(b.feasibility)} feasibility rows compared")
