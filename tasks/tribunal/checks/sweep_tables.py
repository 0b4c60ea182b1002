"""The results tables' cells are the run's sweep rows: a reader compares N=64 with N=128 in them.

Every table of the Results section with a model, an N and (where given) a routing and a hardware column is matched to
the bundle's sweep rows of that model, N, routing, GPU and child run (the run column); its numeric cells (unique experts, activated share, step
time, tokens/s, GB per step, bandwidth utilisation) must equal a matching row's value at the table's precision. A cell
edited after the run (a step time made faster, an expert count made smaller) is a critical finding. Column headers
map to bundle fields by prefix (HEADERS); a table the map does not cover is skipped.
"""

from __future__ import annotations

from tasks.tribunal.bundle import SweepRow, hardware_family
from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.md_tables import cell_numbers, close, column, tables

# header prefix -> (sweep-row field, factor from the field to the printed value)
HEADERS = {"unique experts (mean)": ("unique_experts_mean", 1.0), "unique experts (p90)": ("unique_experts_p90", 1.0),
           "activated": ("activated_fraction", 100.0), "step ms": ("step_ms", 1.0), "tokens/s": ("tokens_per_s", 1.0),
           "gb per step": ("bytes_per_step", 1e-9), "bandwidth util": ("bandwidth_utilisation", 100.0)}


def _candidates(ctx: CheckContext, row: dict[str, str]) -> list[SweepRow]:
    model, n = (column(row, "model") or "").strip(), cell_numbers(column(row, "n") or "")
    run = (column(row, "run") or "").strip(" `")
    if not model or not n or not run:  # a sweep table names each row's child run
        return []
    routing, hw = (column(row, "routing") or "").strip(), (column(row, "hardware") or "").split("(")[0].strip()
    rows = [r for r in ctx.bundle.rows(model, int(n[0])) if (not routing or r.routing == routing)
            and (r.run_id or "").startswith(run)]
    if hw:
        rows = [r for r in rows if hardware_family(r.hardware) == hardware_family(hw) and ("2x" in r.hardware) == ("2x" in hw)]
    return rows


def _mismatches(row: dict[str, str], cands: list[SweepRow]) -> list[str]:
    out = []
    for head, cell in row.items():
        spec = next((v for k, v in HEADERS.items() if head.startswith(k)), None)
        nums = cell_numbers(cell)
        if spec is None or not nums or cell.strip() in ("-", ""):
            continue
        name, factor = spec
        values = [getattr(r, name) * factor for r in cands if getattr(r, name, None) is not None]
        if values and not any(close(nums[0], v) for v in values):
            out.append(f"{head} is {nums[0]:g} but the run has {values[0]:.4g}")
    return out


def _gpu_rows(ctx: CheckContext, body: str) -> list[Finding]:
    """The setup table's GPU (a row with a driver column) is the GPU the run's measurements name."""
    prov = ctx.bundle.gpu_provenance
    if prov is None:
        return []
    out = []
    for table in tables(body):
        for row in table:
            gpu = column(row, "gpu")
            if gpu and column(row, "driver") is not None and hardware_family(gpu) != hardware_family(prov.gpu):
                out.append(Finding(kind="table_mismatch", where="Methodology",
                                   message=f"the setup table names the GPU '{gpu}' but the run measured on {prov.gpu}"))
    return out


@register("sweep_tables_match", "validator", "do the results tables' cells and the setup table's GPU match the run?")
def sweep_tables_match(ctx: CheckContext) -> CheckResult:
    body = ctx.report.section("Results") if ctx.report is not None else None
    if not body or not ctx.bundle.sweep:
        return not_applicable("sweep_tables_match", "no results tables or no sweep rows")
    findings, checked = _gpu_rows(ctx, ctx.report.section("Methodology") or ""), 0
    for table in tables(body):
        for row in table:
            cands = _candidates(ctx, row)
            if not cands:
                continue
            checked += 1
            for msg in _mismatches(row, cands):
                findings.append(Finding(kind="table_mismatch", where="Results",
                                        message=f"{column(row, 'model')} N={column(row, 'n')} "
                                                f"{(column(row, 'hardware') or '').strip()}: {msg}"))
    return result("sweep_tables_match", findings[:6], f"{checked} result-table rows matched to sweep rows")
