"""The report of a literature review: a question with no structured block (no models to sweep, no experiment).

Title, introduction, methodology, results and discussion are written from the question and its evidence only;
nothing of the flagship question (expert explosion, a dense baseline, parallel tokens) appears unless the papers
or the question say it. Shared pieces (claims table, tribunal, references, HTML) come from tasks.report.render.
"""

from __future__ import annotations

from tasks.report.render import _arxiv, _claims, _references, _table, _tribunal, _uncertainties, cell
from tasks.report.claims_summary import claims_sentence, ordered_findings, support_basis
from tasks.tribunal.checks.claims import independent
from tasks.tribunal.bundle import EvidenceBundle
from tasks.tribunal.common import num
from tasks.tribunal.records import OWNER_REVIEW, TribunalOutcome

SECTIONS = ("Abstract", "Introduction", "Methodology", "Results", "Discussion", "Claims", "Uncertainties", "Tribunal", "References")
LABELS = ("SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO")


def literature_title(bundle: EvidenceBundle, max_chars: int = 110) -> str:
    """'Literature review: <the question>' (shortened at a word boundary)."""
    text = " ".join(bundle.question.text.split())
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] + " …"
    return f"Literature review: {text}"


def _counts(bundle: EvidenceBundle) -> dict[str, int]:
    return {lab: sum(c.label == lab for c in bundle.claims) for lab in LABELS}


def _abstract(bundle: EvidenceBundle, outcome: TribunalOutcome) -> str:
    return (f"{cell(outcome.answer)}\n\n{claims_sentence(bundle, retrieved=True)} The review tribunal scored "
            f"the draft {num(outcome.final.aggregate, 3)}/10 (threshold {num(outcome.policy.threshold, 3)}); policy: "
            f"**{outcome.policy.decision}**.")


def _introduction(bundle: EvidenceBundle) -> str:
    return (f"> {cell(bundle.question.text)}\n\nThis draft is a **literature review**: the question names no models to sweep, so "
            "no experiment was run and every number below is published by the cited papers, not measured here. "
            "(Give the question a structured block, or add `+sweep=tokens`, to run the experiment stage.)")


def _methodology(bundle: EvidenceBundle) -> str:
    sources = ", ".join(bundle.retrieval_sources) or "-"
    parts = [f"### Retrieval and relevance\n\nSearch queries were derived from the question's text (its key phrases, the "
             f"models, hardware and acronyms it names, synonyms mined from the retrieved papers and pseudo-relevance feedback) "
             f"and run against: {cell(sources)}. Of {bundle.papers_retrieved} papers retrieved, {bundle.papers_kept} were kept by "
             "the relevance stage; each paper's scores and the decision are in `papers.jsonl` (an MLflow artifact of run "
             f"`{bundle.mlflow_run_id or '-'}`)."]
    card = bundle.index_card
    if card:
        parts.append("### Index card\n\n" + _table(["embedder", "dimension", "vectors", "index", "metric", "paper ids sha256"],
                                                   [[cell(card.embedder), card.dimension, card.vectors, card.index_type, card.metric,
                                                     f"`{card.paper_ids_sha256[:12]}`"]]))
    parts.append(f"### Claims\n\nCheckable sentences were extracted from the kept papers, ranked by their relevance to the "
                 f"question (off-topic ones set aside) and verified by the **{cell(bundle.verifier)}** verifier against "
                 "evidence from the index.")
    return "\n\n".join(parts)


def _results(bundle: EvidenceBundle) -> str:
    rows = [[i, _arxiv(p.arxiv_id), cell(p.title[:110]), num(p.relevance, 3), num(p.semantic, 3),
             sum(c.source_id == p.arxiv_id for c in bundle.claims)] for i, p in enumerate(bundle.papers, 1)]
    parts = ["### Papers kept, most relevant first\n\n" + _table(["#", "paper", "title", "relevance", "embedding", "claims"], rows)]
    findings = ordered_findings(bundle)
    lines = [f"- {_arxiv(c.source_id)}: \"{cell(c.claim.text)}\" — {support_basis(c)}; evidence: {cell(c.evidence_text)}"
             for c in findings[:12]]
    parts.append("### Findings supported by the evidence (independently corroborated first, then most relevant)\n\n"
                 + ("\n".join(lines) if lines else "No claim was supported by the evidence."))
    return "\n\n".join(parts)


def _discussion(bundle: EvidenceBundle) -> str:
    n = _counts(bundle)
    contradicted = [c for c in bundle.claims if c.label == "CONTRADICTED"]
    corroborated = sum(independent(c) for c in bundle.claims)
    lines = [f"The kept literature gives {n['SUPPORTED']} claims borne out by evidence, from "
             f"{len({c.source_id for c in bundle.claims if c.label == 'SUPPORTED'})} papers; {corroborated} of them are "
             "corroborated by a paper other than their own, the rest rest on their own paper's word. "
             f"{n['NOT_ENOUGH_INFO']} claims could not be settled from the snapshot's abstracts and are marked unverified "
             "where the draft uses them."]
    if contradicted:
        lines.append("Claims that other evidence contradicts (not stated as fact):\n\n" + "\n".join(
            f"- {_arxiv(c.source_id)}: \"{cell(c.claim.text[:220])}\" — {cell(c.evidence_text)}" for c in contradicted[:8]))
    lines.append("No experiment backs these findings; a measurement would need a question that names the models "
                 "and hardware to sweep.")
    return "\n\n".join(lines)


def render_literature_markdown(bundle: EvidenceBundle, outcome: TribunalOutcome) -> str:
    """The literature-review report as Markdown (the same sections as the experiment report, plus a discussion)."""
    body = {
        "Abstract": _abstract(bundle, outcome), "Introduction": _introduction(bundle), "Methodology": _methodology(bundle),
        "Results": _results(bundle), "Discussion": _discussion(bundle), "Claims": _claims(bundle),
        "Uncertainties": _uncertainties(bundle, outcome), "Tribunal": _tribunal(outcome), "References": _references(bundle),
    }
    head = (f"# {cell(literature_title(bundle))}\n\n> **{OWNER_REVIEW}** — policy {outcome.policy.decision}, "
            f"tribunal {num(outcome.final.aggregate, 3)}/10. Literature review: no experiment was run.")
    return head + "\n\n" + "\n\n".join(f"## {name}\n\n{body[name]}" for name in SECTIONS) + "\n"
