"""Checks "numbers" and "scope": every claimed number borne out, and a number-free claim covered by one sentence."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from tasks.claims.align import Alignment, names_all
from tasks.claims.findings import Finding, register
from tasks.claims.number_match import Tolerance, match_numbers
from tasks.claims.lexicon import lexicon
from tasks.claims.slots import content_stems, stem


def claim_words(text: str) -> set[str]:
    """The content stems a number-free claim must find covered: its reporting words ("a study finds that",
    "the analysis shows") say who states it, not what is stated (lexicon ``reporting_words``)."""
    return content_stems(text) - _reporting()


@functools.cache
def _reporting() -> frozenset[str]:
    return frozenset(stem(w) for w in lexicon()["reporting_words"])


def _score(s) -> float:
    return float(s.hit.score) if s is not None else 0.5


@register("numbers")
@dataclass
class NumberAgreement:
    """Each claimed number: support when an aligned number of the same unit, metric and slot bears it out;
    contradiction when the claimed value sits in another slot of that sentence or the claim's actor is
    reported with a different value; a gap otherwise."""

    tol: Tolerance = Tolerance()

    def __call__(self, al: Alignment) -> list[Finding]:
        out = []
        for m in match_numbers(al, self.tol):
            c = m.claimed.text
            if m.status == "match":
                out.append(Finding(self.name, "support", f"'{c}' matches '{m.evidence.text}' ({m.sentence.chunk_id})",
                                   m.sentence.chunk_id, _score(m.sentence)))
            elif m.status == "other_slot":
                out.append(Finding(self.name, "contradict", f"claim gives '{c}' where {m.sentence.chunk_id} says "
                                   f"'{m.evidence.text}' (the claimed value is reported there for something else)",
                                   m.sentence.chunk_id, _score(m.sentence)))
            elif m.status == "rival":
                where = f"; {m.owner}" if m.owner else ""
                out.append(Finding(self.name, "contradict", f"claim says '{c}' but {m.sentence.chunk_id} says "
                                   f"'{m.evidence.text}'{where}", m.sentence.chunk_id, _score(m.sentence)))
            elif m.status == "other_metric":
                out.append(Finding(self.name, "contradict", f"'{c}' is what {m.sentence.chunk_id} reports for "
                                   f"{', '.join(m.evidence.metrics)}, not {', '.join(m.claimed.metrics)}",
                                   m.sentence.chunk_id, _score(m.sentence)))
            elif m.status == "other_comparator":  # attribution judges whose result it is; here it stays unsettled
                out.append(Finding(self.name, "gap", f"'{c}' appears in {m.sentence.chunk_id} against another comparator"))
            else:
                out.append(Finding(self.name, "gap", f"nothing aligned settles '{c}'"))
        return out


@register("scope")
@dataclass
class Scope:
    """A claim without numbers: one aligned sentence, or its chunk, must name all its entities (subjects,
    baselines), and that chunk must cover most of the claim's content words at a good retrieval score."""

    min_coverage: float = 0.6
    support_similarity: float = 0.5

    def __call__(self, al: Alignment) -> list[Finding]:
        if al.facts.numbers:
            return []
        if not al.subjects and not al.aligned:
            return [Finding(self.name, "gap", "no aligned evidence")]
        # a claim may combine facts of two sentences of one abstract: the names must sit in one chunk
        by_chunk = {}
        for s in al.sentences:
            by_chunk.setdefault(s.chunk_id, []).append(s)
        candidates = [s for s in al.aligned if names_all(s, al.required)
                      or all(any(names_all(t, [n]) for t in by_chunk[s.chunk_id]) for n in al.required)]
        if not candidates:
            return [Finding(self.name, "gap", f"no evidence sentence or chunk names {', '.join(al.required) or 'the claim'}")]
        words = claim_words(al.claim.text)
        # an abstract split into chunks is one text: a claim may join what its two halves say
        paper_words, paper_score = {}, {}
        for h in al.hits:
            pid = h.chunk.arxiv_id
            paper_words[pid] = paper_words.get(pid, set()) | content_stems(h.chunk.text)
            paper_score[pid] = max(paper_score.get(pid, 0.0), float(h.score))
        cov, best = max(((len(words & paper_words[s.hit.chunk.arxiv_id]) / max(1, len(words)), s) for s in candidates),
                        key=lambda t: t[0])
        score = paper_score[best.hit.chunk.arxiv_id]
        note = f"content coverage {cov:.2f} of the paper's chunks, retrieval cosine {score:.2f} ({best.chunk_id})"
        ok = cov >= self.min_coverage and score >= self.support_similarity
        al.cache["scope_sentence"] = best
        return [Finding(self.name, "support" if ok else "gap", note, best.chunk_id, _score(best))]


def scope_sentence(al: Alignment):
    """The aligned sentence that best covers a number-free claim (None when none names all its entities)."""
    if "scope_sentence" not in al.cache:
        candidates = [s for s in al.aligned if names_all(s, al.required)]
        words = claim_words(al.claim.text)
        al.cache["scope_sentence"] = max(candidates, key=lambda s: len(words & content_stems(s.hit.chunk.text)),
                                         default=None)
    return al.cache["scope_sentence"]
