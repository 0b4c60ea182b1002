"""Every model is feasible on the hardware it is reported on, or the draft says how many GPUs it needs."""

from __future__ import annotations

import math
import re

from tasks.tribunal.bundle import hardware_family
from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import conf_yaml, gpu_memory_gb


def weights_gb(model: str) -> float | None:
    """Weights of ``model`` in GB from conf/model (published total params x bytes per param), None if unknown."""
    spec = conf_yaml("model", model)
    params, width = spec.get("published_total_params"), spec.get("bytes_per_param", 2)
    return float(params) * float(width) / 1e9 if params else None


ONE_GPU = re.compile(r"\b(?:fits on (?:one|a single|1)\b|on (?:one|a single|1) (?:\w+ )?(?:H\d+|A\d+|B\d+|GPU))", re.I)


def _single_gpu_claims(ctx: CheckContext, pairs: list[tuple[str, str]]) -> list[Finding]:
    """Sentences of the abstract, conclusion or feasibility section that put a model that does not fit on one GPU."""
    out = []
    text = " ".join(ctx.report.section(s) or "" for s in ("Abstract", "Conclusion", "Feasibility"))
    for model, fam in pairs:
        name = conf_yaml("model", model).get("display_name") or model
        for sentence in re.split(r"(?<=[.;])\s+", text):
            m = ONE_GPU.search(sentence)
            if m and name in sentence[max(0, m.start() - 80):m.end() + 5] and fam.lower() in sentence.lower():
                out.append(Finding(kind="infeasible_hardware", where="report",
                                   message=f"the report puts {name} on one {fam.upper()}, which cannot hold it: \"{sentence[:120]}\""))
                break
    return out


@register("feasible_hardware", "validator", "is every model feasible on the GPU it is reported on (or its GPU count stated)?")
def feasible_hardware(ctx: CheckContext) -> CheckResult:
    b = ctx.bundle
    pairs = {(r.model, hardware_family(r.hardware)) for r in b.rows()} | {(t.model, hardware_family(t.hardware)) for t in b.token_latency}
    if not pairs:
        return not_applicable("feasible_hardware", "no model is reported on any hardware")
    memory = gpu_memory_gb()
    rows = {(f.model, hardware_family(f.hardware)): f for f in b.feasibility}
    findings, infeasible = [], []
    for model, fam in sorted(pairs):
        need, mem = weights_gb(model), memory.get(fam)
        row = rows.get((model, fam))
        if row is not None:
            need = max(need or 0.0, row.weights_gb)
            mem = row.gpu_memory_gb if mem is None else min(mem, row.gpu_memory_gb)
        if need is None or mem is None or need <= mem:
            continue
        gpus = math.ceil(need / mem)
        infeasible.append(f"{model} on {fam} ({need:.0f} GB > {mem:.0f} GB)")
        if row is None:
            findings.append(Finding(kind="infeasible_hardware", where="bundle.feasibility",
                                    message=f"{model} ({need:.0f} GB of weights) is reported on one {fam.upper()} "
                                            f"({mem:.0f} GB) with no feasibility statement; it needs >= {gpus} GPUs"))
        elif row.fits or row.gpus_needed < gpus:
            findings.append(Finding(kind="infeasible_hardware", where="bundle.feasibility",
                                    message=f"{model} on {fam.upper()} is marked fits={row.fits}, {row.gpus_needed} GPU(s); "
                                            f"{need:.0f} GB of weights need >= {gpus} x {mem:.0f} GB"))
    if ctx.report is not None:
        findings += _single_gpu_claims(ctx, [(m, f) for m, f in sorted(pairs) if f"{m} on {f} (" in " ".join(infeasible)])
    if infeasible and ctx.report is not None and not ctx.report.has("Feasibility"):
        findings.append(Finding(kind="infeasible_hardware", where="report",
                                message=f"no feasibility section, yet {len(infeasible)} model/GPU pairs do not fit: "
                                        + "; ".join(infeasible[:4])))
    return result("feasible_hardware", findings, f"{len(pairs)} model/GPU pairs; do not fit on one GPU: "
                  + ("; ".join(infeasible) or "none"))
