"""The papers that define the models, decoding setups and routing calibration the draft uses are cited,
and every paper the report cites is one the run knows (no fabricated reference)."""

from __future__ import annotations

import re

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import CONF, conf_yaml, lexicon


def required_papers(ctx: CheckContext) -> dict[str, str]:
    """arXiv id -> 'Name (defines what)' for every model, decoding setup and routing the draft rests on."""
    papers = lexicon().get("defining_papers", {})
    b = ctx.bundle
    models = {r.model for r in b.rows()} | {t.model for t in b.token_latency}
    decodings = {d.strip() for t in b.token_latency for d in t.decoding.replace(";", ",").split(",") if d.strip()}
    decodings |= {str(conf_yaml("model", m).get("decoding")) for m in models if conf_yaml("model", m).get("decoding")}
    routings = {r.routing for r in b.rows() if not r.dense}
    need: dict[str, str] = {}
    for m in sorted(models):
        for pid, name in (papers.get("models", {}).get(m) or {}).items():
            need.setdefault(str(pid), f"{name} (defines {m})")
    for d in sorted(decodings):
        for prefix, ids in (papers.get("decoding") or {}).items():
            if d.startswith(prefix):
                for pid, name in ids.items():
                    need.setdefault(str(pid), f"{name} (defines decoding {d})")
    for r in sorted(routings):
        for pid, name in (papers.get("routing", {}).get(r) or {}).items():
            need.setdefault(str(pid), f"{name} (calibrates {r} routing)")
    return need


@register("defining_papers_cited", "validator", "are the papers that define the models and decoding setups used cited?")
def defining_papers_cited(ctx: CheckContext) -> CheckResult:
    need = required_papers(ctx)
    if not need:
        return not_applicable("defining_papers_cited", "no model or decoding setup with a known defining paper")
    if ctx.report is not None:
        refs = ctx.report.section("References") or ""
        cited = {pid for pid in need if pid in refs}
        where = "References"
    else:
        cited = {p.arxiv_id for p in ctx.bundle.papers} & set(need)
        where = "bundle.papers"
    missing = [pid for pid in need if pid not in cited]
    findings = [Finding(kind="missing_citation", where=where, message=f"{need[pid]}, arXiv {pid}, is not cited") for pid in missing]
    return result("defining_papers_cited", findings, f"{len(cited)}/{len(need)} defining papers cited"
                  + (f"; missing {', '.join(missing)}" if missing else ""))


