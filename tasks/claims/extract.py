"""Deterministic claim extraction: split paper text into sentences and keep the checkable ones."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from collections.abc import Iterable

from tasks.claims.context import analyse_sentence
from tasks.claims.entities import title_subject
from tasks.claims.records import Claim, ClaimType
from tasks.index.chunking import sentence_spans
from tasks.records import Paper

_COMPARATIVE = re.compile(
    r"\b(?:outperform\w*|beats?|beating|surpass\w*|exceed\w*|better than|worse than|faster than|slower than|"
    r"higher than|lower than|more than|fewer than|less than|compared (?:with|to)|over (?:the )?(?:baseline|state)|"
    r"reduc\w* [\w\s\-]{0,40}?\bby|cuts? [\w\s\-]{0,40}?\bby|improv\w* [\w\s\-]{0,40}?\bby|speed-?ups?|on par with|"
    r"matches|competitive with|comparabl\w*)\b",
    re.I,
)
_SCALING = re.compile(
    r"\b(?:scal(?:es|ing) (?:with|linearly|up)|grows?\b|rises?\b|(?:near|almost|roughly|sub|super)?-?linear(?:ly)?|"
    r"quadratic\w*|proportional\w*|as the number of|with the number of|memory-bound|compute-bound|bandwidth-bound)",
    re.I,
)
_SETUP = re.compile(r"\b(?:trained on|pre-?trained on|activates?|active parameters|total parameters|routes?|top-\d|"
                    r"context|batch size|layers?|experts? per|GPUs?|hours)\b", re.I)


def classify(text: str, has_numbers: bool, has_hardware: bool) -> ClaimType | None:
    """The claim type of a sentence, or None when it carries nothing checkable."""
    if _SCALING.search(text) and not (has_numbers and re.search(r"\d\s?(?:[x×%]|times\b)", text)):
        return "scaling"
    if has_numbers and _COMPARATIVE.search(text):
        return "numeric"
    if has_numbers:
        return "setup" if _SETUP.search(text) and not re.search(r"[x×%]|times\b", text) else "numeric"
    if _COMPARATIVE.search(text):
        return "comparative"
    if has_hardware or _SETUP.search(text):
        return "setup"
    return None


def extract_claims(paper: Paper, min_chars: int = 30) -> list[Claim]:
    """Checkable claims in ``paper.text`` (title + abstract), with spans into that text.

    Args:
        paper: the paper; its title sentence is skipped.
        min_chars: shorter sentences are dropped.
    Returns:
        Claims in text order, ids '<arxiv_id>:c<n>'.
    """
    text = paper.text
    inherited = title_subject(paper.title)
    claims: list[Claim] = []
    for start, end in sentence_spans(text):
        sentence = text[start:end].strip()
        if start < len(paper.title) or len(sentence) < min_chars:
            continue
        facts = analyse_sentence(sentence, inherited=inherited)
        numbers = [q for q in facts.numbers if any(ch.isdigit() for ch in q.text) or q.unit]
        ctype = classify(sentence, bool(numbers), bool(facts.hardware))
        if ctype is None:
            continue
        confidence = 0.5 + 0.2 * bool(numbers) + 0.15 * bool(facts.models or facts.hardware) + 0.1 * (ctype in ("comparative", "scaling"))
        lead = len(text[start:end]) - len(text[start:end].lstrip())
        claims.append(Claim(
            claim_id=f"{paper.arxiv_id}:c{len(claims)}",
            text=sentence,
            source_id=paper.arxiv_id,
            span=(start + lead, start + lead + len(sentence)),
            type=ctype,
            entities=list(facts.entities),
            numbers=numbers,
            confidence=round(min(confidence, 0.95), 2),
        ))
    return claims


def extract_from_papers(papers: Iterable[Paper]) -> list[Claim]:
    """Deterministic extraction over many papers (the flow's claims stage calls this)."""
    return [claim for paper in papers for claim in extract_claims(paper)]


def claim_from_text(text: str, claim_id: str = "claim", source_id: str | None = None) -> Claim:
    """Wrap a free-text claim (e.g. a line of a labelled file) as a Claim record."""
    facts = analyse_sentence(text)
    ctype = classify(text, bool(facts.numbers), bool(facts.hardware)) or "qualitative"
    return Claim(claim_id=claim_id, text=text, source_id=source_id, type=ctype,
                 entities=list(facts.entities), numbers=list(facts.numbers), extractor="given")


def rank_by_question(claims: list[Claim], question: str, titles: dict[str, str] | None = None,
                     embedder=None, tail: float = 1.0) -> tuple[list[Claim], list[Claim]]:
    """Order claims by their relevance to the question and split off the off-topic ones.

    Relevance: BM25 (words and word pairs, fitted on these claims, each read with its paper's title since a sentence
    often leaves its subject implicit) to the question and each of its key phrases, plus, with an ``embedder``, the
    embedding cosine of the sentence to the question; each as a within-set robust standard score, averaged. A claim
    is off-topic when it lies more than ``tail`` robust standard deviations below this set's median: a relative cut,
    so it carries to any question. The score is shifted by :func:`facet_adjustment` (does the claim measure what the
    question asks about, in the question's life-cycle phase?). ("DeepSeek-V2 was pretrained on 8.1T tokens" has no place in a report on decoding
    latency.)

    Returns:
        (on-topic claims, most relevant first; off-topic claims, most relevant first).
    """
    if len(claims) < 4:
        return list(claims), []
    from tasks.retrieval.phrases import key_phrases
    from tasks.retrieval.scoring import bm25_matrix, facet_mean, standardise

    titles = titles or {}
    asked = [question] + key_phrases(question)
    signals = [standardise(facet_mean(bm25_matrix(asked, [f"{titles.get(c.source_id or '', '')}. {c.text}" for c in claims])))]
    if embedder is not None:
        vectors = embedder.embed([c.text for c in claims])
        signals.append(standardise(vectors @ embedder.embed([question])[0]))
    scores = sum(signals) / len(signals) + facet_adjustment(claims, question)
    order = sorted(range(len(claims)), key=lambda i: (-scores[i], i))
    return [claims[i] for i in order if scores[i] >= -tail], [claims[i] for i in order if scores[i] < -tail]


@functools.lru_cache(maxsize=1)
def _facets() -> dict:
    import yaml

    return yaml.safe_load((Path(__file__).parent / "data" / "facets.yaml").read_text())


def _families(metrics: tuple[str, ...], facets: dict) -> set[str]:
    weak = set(facets["weak"])
    return {fam for fam, names in facets["families"].items() for m in metrics if m not in weak and m in names}


def _phases(text: str, facets: dict) -> set[str]:
    text = re.sub(facets["not_training"], " ", text, flags=re.I)
    return {phase for phase, rx in facets["phases"].items() if re.search(rx, text, re.I)}


def facet_adjustment(claims: list[Claim], question: str) -> "np.ndarray":  # noqa: F821 - numpy, imported where used
    """Per-claim shift of the topicality score: + when the claim measures a family of quantities the question asks
    about, - when everything it measures lies outside those families, - when it speaks only of another life-cycle
    phase (training vs inference) than the question. Zero when the question names no family or phase.
    Families and phases are data: tasks/claims/data/facets.yaml."""
    import numpy as np

    from tasks.claims.context import metrics_of

    facets = _facets()
    adj = facets["adjust"]
    asked, asked_phase = _families(metrics_of(question), facets), _phases(question, facets)
    out = np.zeros(len(claims))
    for i, c in enumerate(claims):
        fams = _families(metrics_of(c.text), facets) | {f for q in c.numbers for f in _families(q.metrics, facets)}
        fams |= {fam for fam, rx in (facets.get("family_words") or {}).items() if re.search(rx, c.text, re.I)}
        if asked and fams:
            out[i] += adj["on_facet"] if fams & asked else adj["off_facet"]
        phases = _phases(c.text, facets)
        if asked_phase and phases and not phases & asked_phase:
            out[i] += adj["other_phase"]
    return out
