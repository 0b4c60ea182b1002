"""Check "guarantee": a claim that makes a method pay what its paper says it never pays.

Inference methods state guarantees of themselves: no retraining ("training-free", "needs no retraining"), no
quality loss ("lossless", "without quality loss"), unchanged outputs ("identical outputs", "an exact attention
algorithm"). A claim whose figures match but which adds that the method works "only after a short fine-tuning
stage", "at the cost of lower accuracy" or that "its outputs differ slightly" contradicts the paper. The patterns are
data (lexicon ``guarantees``); a paper that states both sides of one guarantee (a lossless variant and a lossy one)
settles nothing, and a claim that negates the cost ("does not require fine-tuning") asserts nothing against it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tasks.claims.align import Alignment
from tasks.claims.check_direction import _support_sentences, negated
from tasks.claims.findings import Finding, register
from tasks.claims.lexicon import lexicon
from tasks.claims.number_match import Tolerance


@functools.cache
def _guarantees() -> dict[str, tuple[re.Pattern, re.Pattern]]:
    return {name: (re.compile(d["holds"], re.I), re.compile(d["broken"], re.I)) for name, d in lexicon()["guarantees"].items()}


def _says(rx: re.Pattern, text: str) -> re.Match | None:
    """The first match of ``rx`` in ``text`` that no negation sets aside."""
    return next((m for m in rx.finditer(text) if not negated(text, m.start())), None)


def broken_guarantee(claim: str, paper: str) -> str:
    """The guarantee the paper states and the claim breaks, as a short reason ("" when none)."""
    for name, (holds, broken) in _guarantees().items():
        said = _says(broken, claim)
        if said and (kept := holds.search(paper)) and not _says(broken, paper):
            return f"claim says '{said.group(0)}' but the paper states '{kept.group(0)}' ({name.replace('_', '-')})"
    return ""


@register("guarantee")
@dataclass
class Guarantee:
    """The claim breaks a guarantee (no retraining, no quality loss, unchanged outputs) its supporting paper states."""

    tol: Tolerance = Tolerance()

    def __call__(self, al: Alignment) -> list[Finding]:
        for s in _support_sentences(al, self.tol):
            pid = s.hit.chunk.arxiv_id
            paper = " ".join(dict.fromkeys(h.chunk.text for h in al.hits if h.chunk.arxiv_id == pid))
            if why := broken_guarantee(al.claim.text, paper):
                return [Finding(self.name, "contradict", f"{why} ({s.chunk_id})", s.chunk_id, float(s.hit.score))]
        return []
