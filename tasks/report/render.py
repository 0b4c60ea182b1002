"""Render the draft report as Markdown and as one self-contained HTML file (figures embedded as base64 PNG).

Every number comes from the EvidenceBundle or the TribunalOutcome and is printed
with ``tasks.tribunal.common.num`` (4 significant digits) next to the run it came
from, so tests can parse a table cell and compare it with the bundle or MLflow.
Third-party text (titles, claims, evidence) is HTML-escaped: it never becomes markup.
"""

from __future__ import annotations

import re
from pathlib import Path

from tasks.report import html as inert
from tasks.tribunal.bundle import EvidenceBundle, hardware_family
from tasks.tribunal.common import asked_models_present, num
from tasks.tribunal.records import OWNER_REVIEW, ROLES, TribunalOutcome
from tasks.moe.stats import iid_expected_unique
from tasks.report import flagship
from tasks.report.claims_summary import claims_sentence, support_basis

SECTIONS = ("Abstract", "Introduction", "Methodology", "Results", "Discussion", "Limitations", "Conclusion", "Claims",
            "Uncertainties", "Tribunal", "References")
CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:left}
th{background:#f3f3f3}blockquote{background:#fff4d6;border-left:5px solid #e0a800;margin:0;padding:.5rem 1rem}
img{max-width:100%}code{background:#f5f5f5;padding:0 .2rem}"""


def cell(text: object) -> str:
    """Untrusted or free text made safe for a Markdown table cell and for HTML."""
    return inert.md_inert(re.sub(r"\s+", " ", str(text)).strip()).replace("|", "\\|")


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _run(row_run: str | None) -> str:
    return f"`{row_run[:8]}`" if row_run else "-"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{num(100 * value, 3)}%"


def _arxiv(paper_id: str | None) -> str:
    return f"[{paper_id}](https://arxiv.org/abs/{paper_id})" if paper_id else "-"


def _title(bundle: EvidenceBundle) -> str:
    if bundle.asked is None:  # a literature review (issue 11): tasks/report/literature.py
        from tasks.report.literature import literature_title

        return literature_title(bundle)
    q = bundle.asked
    return (f"{q.phenomenon.capitalize()} in MoE diffusion LLMs: {' vs '.join(map(str, q.parallel_tokens))} parallel tokens "
            f"on {q.hardware_name}, against {q.baseline_name}")


def _abstract(bundle: EvidenceBundle, outcome: TribunalOutcome) -> str:
    answer = flagship.abstract(bundle) if bundle.token_latency else inert.md_inert(outcome.answer)
    return (f"{answer}\n\n{claims_sentence(bundle)} The review tribunal scored the draft "
            f"{num(outcome.final.aggregate, 3)}/10 (threshold {num(outcome.policy.threshold, 3)}); policy: "
            f"**{outcome.policy.decision}**.")


def _introduction(bundle: EvidenceBundle) -> str:
    q = bundle.asked
    return (f"> {cell(bundle.question.text)}\n\nDiffusion LLMs decode a block of N tokens in parallel. In a Mixture-of-Experts "
            "model every token picks its own top-k experts, so the set of distinct experts a step must read from memory "
            "grows with N (*expert explosion*); decoding is memory-bound, so those bytes set the step time. This draft "
            f"quantifies the effect for {', '.join(q.model_names)} at N = {', '.join(map(str, q.parallel_tokens))}, "
            f"its cost in latency and memory-bandwidth utilisation on {q.hardware_name}, and compares it with the dense "
            f"{q.baseline_name}.")


def _methodology(bundle: EvidenceBundle) -> str:
    live = "live arXiv API" if "arxiv" in bundle.retrieval_sources else None
    snap = "local arXiv snapshot" if "snapshot" in bundle.retrieval_sources else None
    src = " and ".join(s for s in (live, snap) if s) or "unknown"
    parts = [f"### Retrieval\n\nPapers came from the **{src}** (sources: {', '.join(bundle.retrieval_sources) or '-'}): "
             f"{bundle.papers_retrieved} retrieved, {bundle.papers_kept} kept by the relevance stage (each paper's scores and "
             "decision are in papers.jsonl)."]
    card = bundle.index_card
    if card:
        parts.append("### Index card\n\n" + _table(["embedder", "dimension", "vectors", "index", "metric", "chunking", "paper ids sha256"],
                                                   [[cell(card.embedder), card.dimension, card.vectors, card.index_type, card.metric,
                                                     cell(card.chunking), f"`{card.paper_ids_sha256[:12]}`"]]))
    parts.append(f"### Claim verification\n\nClaims were extracted from the kept papers and checked by the **{cell(bundle.verifier)}** "
                 "verifier against evidence retrieved from the index; claims about expert counts, latency or bandwidth were "
                 "also checked against our own sweep runs (empirical verdicts cite the run and say measured or projected).")
    rows = bundle.rows()
    measured = sorted({r.source for r in rows if r.measured})
    setup = (f"### Experiment setup\n\nSweep over models {', '.join(sorted({r.model for r in rows}))}, routings "
             f"{', '.join(sorted({r.routing for r in rows}))}, N = {', '.join(map(str, sorted({r.n_tokens for r in rows})))}, "
             f"hardware {', '.join(sorted({r.hardware for r in rows}))}. Modelled rows are roofline times "
             "max(bytes / HBM bandwidth, FLOPs / bf16 peak) from datasheet ceilings (class `modelled`); unique-expert counts "
             "always come from the routing model (class `modelled`), also where the step time is measured; "
             + (f"measured rows ({', '.join(measured)}) are CUDA-event medians with the repeat spread." if measured
                else "**no row is measured on a GPU**.")
             + f" MLflow parent run `{bundle.mlflow_run_id or '-'}` ({cell(bundle.mlflow_uri or '-')}); every table row names its child run.")
    prov = bundle.gpu_provenance
    if prov:
        setup += "\n\n" + _table(["GPU", "driver", "CUDA", "torch", "date", "git sha", "command"],
                                 [[cell(prov.gpu), cell(prov.driver), cell(prov.cuda), cell(prov.torch), cell(prov.date),
                                   f"`{cell(prov.git_sha[:12])}`", f"`{cell(prov.command)}`"]])
    parts.append(setup)
    return "\n\n".join(parts)


def _unique_table(bundle: EvidenceBundle) -> str:
    seen, rows = set(), []
    for r in sorted(bundle.rows(), key=lambda r: (r.model, r.routing, not r.measured, r.n_tokens)):
        key = (r.model, r.routing, r.n_tokens)
        if r.dense or r.unique_experts_mean is None or key in seen:
            continue
        seen.add(key)
        iid = iid_expected_unique(r.num_experts, r.top_k, r.n_tokens) if r.num_experts and r.top_k else None
        rows.append([r.model, r.routing, r.n_tokens, r.experts_prov.tag(), num(r.unique_experts_mean), num(r.unique_experts_p90),
                     num(r.num_experts), _pct(r.activated_fraction), num(iid), _run(r.run_id)])
    return _table(["model", "routing", "N", "experts class: source", "unique experts (mean)", "unique experts (p90)", "E", "activated",
                   "i.i.d. closed form", "run"], rows)


def _timing_table(bundle: EvidenceBundle) -> str:
    rows = []
    for r in sorted(bundle.rows(), key=lambda r: (r.hardware, r.model, r.routing, r.n_tokens)):
        if r.step_ms is None:
            continue
        tok_s = num(r.tokens_per_s) if not r.dense else (num(1e3 / r.step_ms) if r.n_tokens == 1 else "- (not decode)")
        fit = next((f for f in bundle.feasibility if f.model == r.model and f.hardware == r.hardware), None)
        hw = cell(r.hardware) + (f" (does not fit one GPU: needs {fit.gpus_needed})" if fit is not None and not fit.fits else "")
        rows.append([r.model, r.routing, r.n_tokens, hw, r.step_provenance.tag(), num(r.step_ms), tok_s,
                     num(r.bytes_per_step / 1e9 if r.bytes_per_step else None), _pct(r.bandwidth_utilisation), r.bound or "-",
                     _pct(r.timing_spread), _run(r.run_id)])
    return ("Step time of one forward at N parallel tokens. Tokens/s for MoE diffusion rows credits the committed tokens per "
            "step of the decoding setup; a dense row at N>1 is one N-token forward, not autoregressive decoding, so it gets no "
            "tokens/s (its decode is the N=1 row). Per-token comparisons are in *Latency per committed token*.\n\n"
            + _table(["model", "routing", "N", "hardware", "step time class: source", "step ms", "tokens/s", "GB per step",
                      "bandwidth util.", "bound", "spread", "run"], rows))


def _answer_table(bundle: EvidenceBundle) -> str:
    """The question's numbers at a glance: question models and baseline at the asked N, asked hardware and measurements."""
    asked = bundle.asked
    fam = hardware_family(asked.hardware)
    rows = []
    for model in asked_models_present(bundle) + [asked.baseline]:
        for n in asked.parallel_tokens:
            for r in bundle.rows(model, n):
                if (r.dense or r.routing == bundle.answer_routing(model)) and (r.measured or hardware_family(r.hardware) == fam):
                    fit = next((f for f in bundle.feasibility if f.model == r.model and f.hardware == r.hardware), None)
                    hw = cell(r.hardware) + (f" (does not fit one GPU: needs {fit.gpus_needed})" if fit is not None and not fit.fits else "")
                    rows.append([r.model, r.routing, r.n_tokens, hw, num(r.unique_experts_mean),
                                 r.experts_prov.tag() if not r.dense else "-", num(r.step_ms), r.step_provenance.tag(),
                                 _pct(r.bandwidth_utilisation), _run(r.run_id)])
    return _table(["model", "routing", "N", "hardware", "unique experts (mean)", "experts class", "step ms", "step time class",
                   "bandwidth util.", "run"], rows)


def _results(bundle: EvidenceBundle, figures: dict[str, str]) -> str:
    parts = ["### The question's numbers\n\n" + _answer_table(bundle), "### Unique experts vs N\n\n" + _unique_table(bundle)]
    if "unique" in figures:
        parts.append(f"![Unique experts vs N; dashed: i.i.d. closed form E(1-(1-k/E)^N)]({figures['unique']})")
    if bundle.growth:
        parts.append("Saturating fits U(N) = E(1 - exp(-N/n0)):\n\n" + _table(
            ["model", "routing", "E", "n0 (tokens)", "R²", "small-N slope", "class: source"],
            [[g.model, g.routing, g.num_experts, num(g.n0), num(g.r2, 3), num(g.slope_small_n),
              f"[modelled: {g.routing} routing]" if g.source in ("projected", "modelled") else g.source] for g in bundle.growth]))
    if bundle.validation or bundle.sensitivity or bundle.token_latency or bundle.feasibility:
        parts += ["### Validation of the routing model\n\n" + flagship.validation_section(bundle),
                  "### Sensitivity to the routing hypothesis\n\n" + flagship.sensitivity_section(bundle),
                  "### Latency per committed token\n\n" + flagship.token_latency_section(bundle),
                  "### Feasibility on the target hardware\n\n" + flagship.feasibility_section(bundle)]
    if bundle.two_gpu:
        from tasks.report.sharded import two_gpus_section

        parts.append("### Two GPUs (expert and tensor parallel)\n\n" + two_gpus_section(bundle))
    parts.append("### Step time, throughput and bandwidth utilisation\n\n" + _timing_table(bundle))
    for key, alt in (("step", "Step time vs N against the dense baseline"), ("bytes", "Bytes moved per step vs N")):
        if key in figures:
            parts.append(f"![{alt}]({figures[key]})")
    lit = [c for c in bundle.claims if c.empirical or c.claim.numbers or c.claim.type in ("numeric", "scaling")]
    lines = []
    for c in lit[:15]:
        if c.disposition == "dropped":
            status = "dropped from the text"
        elif c.disposition == "softened":
            status = "unverified"
        else:
            status = "stated in the text"
        lines.append(f"- {_arxiv(c.source_id)}: \"{cell(c.claim.text)}\" — **{c.label}** ({status}); {cell(c.evidence_text)}")
    parts.append("### Comparison with the literature\n\n" + ("\n".join(lines) if lines else "No numeric claims to compare."))
    return "\n\n".join(parts)


def _claims(bundle: EvidenceBundle) -> str:
    if not bundle.claims:
        return "No claims were extracted."
    rows = [[c.claim.claim_id, cell(c.claim.text[:220]), _arxiv(c.source_id), c.label, support_basis(c), num(c.confidence, 2),
             cell(c.evidence_text), c.disposition] for c in bundle.claims]
    return _table(["id", "claim", "source", "verdict", "rests on", "confidence", "evidence or run", "in text"], rows)


def _uncertainties(bundle: EvidenceBundle, outcome: TribunalOutcome) -> str:
    lines = [f"- **{u.topic}**: {cell(u.text)}" + (" *(added by the tribunal)*" if u.added_by == "tribunal" else "")
             for u in bundle.uncertainties]
    skeptic = next(r for r in outcome.final.rulings if r.role == "skeptic")
    lines += [f"- *skeptic*: {cell(f)}" for f in skeptic.findings]
    return "\n".join(lines) or "None stated."


def _tribunal(outcome: TribunalOutcome) -> str:
    header = ["round"] + [r for r in ROLES] + ["aggregate", "revisions applied"]
    rows = [[rd.round] + [num(rd.score(role), 3) for role in ROLES] + [num(rd.aggregate, 3), len(rd.applied)] for rd in outcome.rounds]
    parts = [f"Backend: `{outcome.backend}`. Aggregate = weighted mean of the role scores (see tasks/tribunal/policy.py).",
             _table(header, rows)]
    for rd in outcome.rounds:
        if rd.applied:
            parts.append(f"Revisions applied after round {rd.round}:\n\n" + "\n".join(f"- {cell(r.text)}" for r in rd.applied))
    for ruling in outcome.final.rulings:
        failed = [f"{i.key} ({cell(i.evidence)})" for i in ruling.items if not i.passed and i.weight > 0]
        parts.append(f"**{ruling.role}** ({num(ruling.score, 3)}/10, {ruling.backend}) — findings: "
                     + ("; ".join(cell(f) for f in ruling.findings) or "none") + ". Failed items: " + ("; ".join(failed) or "none") + ".")
    if outcome.warnings:
        parts.append("Warnings:\n\n" + "\n".join(f"- {cell(w)}" for w in outcome.warnings))
    p = outcome.policy
    parts.append(f"**Policy: {p.decision}** (aggregate {num(p.aggregate, 3)}, threshold {num(p.threshold, 3)}, "
                 f"{p.rounds} revision round(s)).\n\n" + "\n".join(f"- {cell(r)}" for r in p.reasons))
    return "\n\n".join(parts)


def _references(bundle: EvidenceBundle) -> str:
    refs = []
    for i, p in enumerate(bundle.papers, 1):
        authors = ", ".join(p.authors[:3]) + (" et al." if len(p.authors) > 3 else "")
        refs.append(f"{i}. {cell(authors) + '. ' if authors else ''}*{cell(p.title)}*. arXiv:{p.arxiv_id} "
                    f"({(p.published or '')[:4] or 'n.d.'}). <https://arxiv.org/abs/{p.arxiv_id}>")
    text = "\n".join(refs) or "No papers were kept."
    sources = flagship.source_references(bundle) if bundle.asked is not None else []
    if sources:
        text += "\n\nSources of the model specifications, decoding setups and published validation points (conf/):\n\n" + "\n".join(sources)
    return text


def render_markdown(bundle: EvidenceBundle, outcome: TribunalOutcome, figures: dict[str, str] | None = None) -> str:
    """The report as Markdown.

    Args:
        bundle: the (revised) evidence bundle; normally ``outcome.bundle``.
        outcome: the tribunal outcome (answer, rounds, policy).
        figures: figure key ('unique', 'step', 'bytes') -> relative path of its PNG.
    """
    if bundle.asked is None:  # no structured block: the literature-review report (tasks/report/literature.py)
        from tasks.report.literature import render_literature_markdown

        return render_literature_markdown(bundle, outcome)
    figures = figures or {}
    body = {
        "Abstract": _abstract(bundle, outcome), "Introduction": _introduction(bundle),
        "Methodology": _methodology(bundle), "Results": _results(bundle, figures),
        "Discussion": flagship.discussion(bundle), "Limitations": flagship.limitations(bundle),
        "Conclusion": flagship.conclusion(bundle), "Claims": _claims(bundle),
        "Uncertainties": _uncertainties(bundle, outcome), "Tribunal": _tribunal(outcome), "References": _references(bundle),
    }
    head = (f"# {cell(_title(bundle))}\n\n> **{OWNER_REVIEW}** — policy {outcome.policy.decision}, "
            f"tribunal {num(outcome.final.aggregate, 3)}/10. Question models in the sweep: "
            f"{', '.join(asked_models_present(bundle)) or 'none'}.")
    return head + "\n\n" + "\n\n".join(f"## {name}\n\n{body[name]}" for name in SECTIONS) + "\n"


def render_html(markdown_text: str, figure_files: dict[str, Path], title: str = "Sovereign report") -> str:
    """Self-contained, inert HTML (see tasks/report/html.py): figures embedded, no remote loads, a CSP."""
    return inert.render_html(markdown_text, figure_files, title, css=CSS)


def _replace(path: Path, text: str) -> None:
    """Write beside ``path`` and rename, so a crash or a full disk never leaves a truncated report."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_report_files(bundle: EvidenceBundle, outcome: TribunalOutcome, out_dir: str | Path,
                       figure_cache: str | Path | None = None) -> dict[str, Path]:
    """Write figures/, report.md and report.html into ``out_dir``; returns their paths by name. Figures rendered
    before from the same rows are copied from ``figure_cache`` (tasks/report/figure_cache.py) when it is given."""
    from tasks.report.figure_cache import FIGURES, sweep_figures

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = (sweep_figures(bundle.sweep, out / "figures", bundle.asked.baseline, bundle.feasibility, figure_cache)
               if bundle.asked else [])
    names = {v: k for k, v in FIGURES.items()}
    rel = {names[p.name]: f"figures/{p.name}" for p in written}
    md = render_markdown(bundle, outcome, rel)
    _replace(out / "report.md", md)
    _replace(out / "report.html", render_html(md, {f"figures/{p.name}": p for p in written}, _title(bundle)))
    return {"markdown": out / "report.md", "html": out / "report.html", "figures": out / "figures"}
