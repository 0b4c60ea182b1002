"""Alignment, the first stage of the check pipeline: which evidence sentences speak about the claim.

An evidence sentence is *aligned* with a claim when it names one of the claim's subjects (models or
systems, version-sensitive: DeepSeek-V2 is not DeepSeek-V3), directly or as its paper's subject. A name
after "than/over/from/as" is a baseline, not the subject. A claim that names nothing trusts only the
closest chunks. Every check reads the same :class:`Alignment`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from tasks.claims.context import SentenceFacts, analyse_sentence
from tasks.claims.entities import title_subject
from tasks.claims.entities import names_match
from tasks.claims.lexicon import pattern
from tasks.claims.records import Claim
from tasks.index.chunking import sentence_spans
from tasks.records import ChunkHit


@dataclass(frozen=True)
class Sentence:
    """One evidence sentence, read into facts, with the retrieval hit it comes from."""

    hit: ChunkHit
    facts: SentenceFacts

    @property
    def chunk_id(self) -> str:
        return self.hit.chunk.chunk_id


def _chunk_order(hit: ChunkHit) -> tuple[str, int]:
    tail = hit.chunk.chunk_id.rsplit("#", 1)[-1]
    return hit.chunk.arxiv_id, int(tail) if tail.isdigit() else 0


def read_sentences(hits: list[ChunkHit]) -> list[Sentence]:
    """Every sentence of every hit; a pronoun ("it matches ...") refers to the system its paper last named,
    read in the paper's order across its chunks (an abstract split in two keeps its subject)."""
    by_hit: dict[int, list[Sentence]] = {}
    named: tuple[str, ...] = ()
    paper = None
    for hit in sorted(hits, key=_chunk_order):
        inherited = title_subject(hit.chunk.title)
        if hit.chunk.arxiv_id != paper:
            paper, named = hit.chunk.arxiv_id, ()
        text, out = hit.chunk.text, []
        for a, b in sentence_spans(text):
            sentence = text[a:b].strip()
            facts = analyse_sentence(sentence, inherited=inherited)
            opens_with_pronoun = re.match(r"\s*(?:it|its|they|their)\b", sentence, re.I) is not None
            if named and (opens_with_pronoun or not facts.models) and pattern("pronoun").search(sentence):
                facts = analyse_sentence(sentence, inherited=inherited + named)
            # "it" is who the last sentence reported on ("competitive with LLaMA3 8B" is not it), else any name
            own = tuple(n for n in facts.actors() if n not in inherited) \
                or tuple(e.name for e in facts.models if e.name not in inherited)
            named = own[:1] if own else named
            out.append(Sentence(hit, facts))
        by_hit[id(hit)] = out
    return [s for hit in hits for s in by_hit[id(hit)]]


def names_all(s: Sentence, required: list[str]) -> bool:
    """Does the sentence (or its paper's title) name every one of ``required``?"""
    pool = [e.name for e in s.facts.entities if e.kind in ("model", "baseline", "dataset")] + list(s.facts.inherited)
    return all(any(names_match(r, p) for p in pool) for r in required)


@dataclass
class Alignment:
    """The claim read into facts, and the evidence sentences that speak about its subjects."""

    claim: Claim
    facts: SentenceFacts
    hits: list[ChunkHit]
    sentences: list[Sentence]
    aligned: list[Sentence]
    subjects: list[str]
    source_id: str | None = None
    cache: dict = field(default_factory=dict)  # shared, lazily computed results (e.g. the number matches)

    @property
    def primary(self) -> list[str]:
        """The claim's actor: the first name it reports on (not one in a setting phrase like "on Mixtral")."""
        return self.facts.actors()[:1] or self.subjects

    @property
    def setting_only(self) -> bool:
        """The claim names its subject only as the setting ("in Mixtral")."""
        return not self.facts.actors() and bool(self.facts.models)

    @property
    def baselines(self) -> list[str]:
        return [e.name for e in self.facts.baselines]

    @property
    def required(self) -> list[str]:
        """Names a sentence must carry to report this claim's result: its subjects and baselines."""
        return self.subjects + self.baselines


def _title_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z-]{4,}", text.lower()) if w not in ENGLISH_STOP_WORDS}


def described_papers(text: str, hits: list[ChunkHit], max_titles: int = 2) -> set[str]:
    """Papers a claim that names no system describes by their title ("the sparsely-gated MoE work", "the Hopper
    benchmarking study"): a word of the claim that occurs in the titles of at most ``max_titles`` retrieved papers."""
    titles = {h.chunk.arxiv_id: _title_words(h.chunk.title or "") for h in hits}
    claim_words = _title_words(text)
    out: set[str] = set()
    for word in claim_words:
        having = [pid for pid, words in titles.items() if word in words]
        if 0 < len(having) <= max_titles:
            out.update(having)
    return out


def plain_opening_word(text: str, name: str, hits: list[ChunkHit]) -> bool:
    """A capitalised plain word that opens the claim ("Contrary to ...") and that no evidence uses is an ordinary
    word, not a name ("Switch" is a name: titles use it)."""
    if not (text.lstrip().startswith(name) and name.isalpha() and name[1:].islower()):
        return False
    word = re.compile(rf"\b{re.escape(name)}\b", re.I)
    return not any(word.search(h.chunk.text) or word.search(h.chunk.title or "") for h in hits)


def align(claim: Claim, hits: list[ChunkHit], source_id: str | None, unaligned_top: int = 2) -> Alignment:
    """Read the claim and its evidence; keep the sentences about the claim's subjects."""
    source_title = next((h.chunk.title for h in hits if source_id and h.chunk.arxiv_id == source_id), None)
    cf = analyse_sentence(claim.text, inherited=title_subject(source_title) if source_title else ())
    # an extracted "it" is its own paper's subject; a plain word opening the claim ("Contrary to") is no name
    subjects = [e.name for e in cf.models if not plain_opening_word(claim.text, e.name, hits)] or list(cf.inherited)
    sentences = read_sentences(hits)
    if subjects:
        aligned = [s for s in sentences if s.facts.mentions(subjects)]
    else:  # the closest chunks, and the papers the claim describes by a rare word of their title
        top = {h.chunk.chunk_id for h in sorted(hits, key=lambda h: -h.score)[:unaligned_top]}
        described = described_papers(claim.text, hits)
        aligned = [s for s in sentences if s.chunk_id in top or s.hit.chunk.arxiv_id in described]
    return Alignment(claim, cf, hits, sentences, aligned, subjects, source_id)
