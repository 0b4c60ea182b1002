"""Check "negation": does the claim assert what its evidence explicitly sets aside?

"Instead of cross-layer prediction with a fixed step, it adapts its prefetch horizon": a claim that the
system prefetches "with a fixed step size" asserts the alternative the paper rejects. The check collects, per
evidence paper, the content words that occur only inside a set-aside phrase ("instead of ...", "rather than
...", "as opposed to ..."; lexicon key ``set_aside``) and nowhere else in that paper. A claim that uses at
least ``min_words`` of them, not itself negated, is contradicted by the sentence that sets them aside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.claims.align import Alignment, Sentence
from tasks.claims.check_direction import _support_sentences, negated, set_aside_end
from tasks.claims.findings import Finding, register
from tasks.claims.lexicon import pattern
from tasks.claims.number_match import Tolerance
from tasks.claims.slots import content_stems, stem

_BREAK = re.compile(r"[,;:.()]|\b(?:and|but|while|whereas|which)\b", re.I)


def set_aside_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the phrases a sentence sets aside, each up to the next clause break."""
    out = []
    for m in pattern("set_aside").finditer(text):
        end = set_aside_end(m, _BREAK.pattern).search(text, m.end())
        out.append((m.end(), end.start() if end else len(text)))
    return out


def _stems(text: str) -> set[str]:
    """Content stems, hyphenated compounds split ("fixed-step" -> fixed, step)."""
    return content_stems(text.replace("-", " "))


def _asserted_stems(text: str) -> set[str]:
    """Content stems of the claim that are not negated in it."""
    low = text.lower().replace("-", " ")
    return {stem(m.group(0)) for m in re.finditer(r"[a-z]+", low) if not negated(low, m.start())} & _stems(text)


def rejected_stems(paper_sentences: list[Sentence]) -> dict[str, Sentence]:
    """Stem -> the sentence that sets it aside, for stems that occur only in set-aside phrases of the paper."""
    inside: dict[str, Sentence] = {}
    outside: set[str] = set()
    for s in paper_sentences:
        text = s.facts.text
        spans = set_aside_spans(text)
        rest = list(text)
        for a, b in spans:
            for w in _stems(text[a:b]):
                inside.setdefault(w, s)
            rest[a:b] = " " * (b - a)
        outside |= _stems("".join(rest))
    return {w: s for w, s in inside.items() if w not in outside}


def asserted_alternative(claim: str, sentences: list[Sentence], min_words: int = 2) -> Sentence | None:
    """The sentence that asserts what the claim sets aside: "built by adapting a pretrained model instead of being
    trained from scratch" against "trained from scratch". Every content stem (at least ``min_words``) of one of the
    claim's set-aside phrases must occur in the sentence outside its own set-aside phrases, not negated."""
    causal = pattern("causal_cue")  # "comes from X rather than from Y" ranks causes; the paper having Y settles nothing
    phrases = [w for a, b in set_aside_spans(claim) if not causal.search(_BREAK.split(claim[:a])[-1])
               and len(w := _stems(claim[a:b])) >= min_words]
    for s in sentences if phrases else []:
        text = s.facts.text
        rest = list(text)
        for a, b in set_aside_spans(text):
            rest[a:b] = " " * (b - a)
        if any(words <= _asserted_stems("".join(rest)) for words in phrases):
            return s
    return None


@register("negation")
@dataclass
class Negation:
    """The claim asserts words its evidence uses only in a set-aside phrase ("instead of a fixed step")."""

    tol: Tolerance = Tolerance()
    min_words: int = 2

    def __call__(self, al: Alignment) -> list[Finding]:
        claimed = _asserted_stems(al.claim.text)
        papers = {s.hit.chunk.arxiv_id for s in _support_sentences(al, self.tol)}
        for pid in sorted(papers):
            rejected = rejected_stems([s for s in al.sentences if s.hit.chunk.arxiv_id == pid])
            used = sorted(w for w in claimed if w in rejected)
            if len(used) >= self.min_words:
                s = rejected[used[0]]
                return [Finding(self.name, "contradict", f"claim asserts {', '.join(used)}, which {s.chunk_id} sets aside "
                                f"('{s.facts.text[:80]}')", s.chunk_id, float(s.hit.score))]
        s = asserted_alternative(al.claim.text, al.aligned if al.subjects else [], self.min_words)
        if s is not None:
            return [Finding(self.name, "contradict", f"claim sets aside what {s.chunk_id} says it does "
                            f"('{s.facts.text[:80]}')", s.chunk_id, float(s.hit.score))]
        return []
