"""Check "semantic": a learned entailment head (tasks/claims/semantic.py) reads the claim against the
sentence that bears it out, and flags a contradiction the hand rules have no words for."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.claims.align import Alignment
from tasks.claims.check_direction import _support_sentences
from tasks.claims.findings import Finding, register
from tasks.claims.number_match import Tolerance


@register("semantic")
@dataclass
class Semantic:
    """Contradiction when the head gives P(contradict) >= ``min_contradiction`` for a supporting sentence."""

    tol: Tolerance = Tolerance()
    min_contradiction: float = 0.8

    def __call__(self, al: Alignment) -> list[Finding]:
        from tasks.claims.semantic import entailment

        support = _support_sentences(al, self.tol)
        probs = entailment([s.facts.text for s in support], [al.claim.text] * len(support))
        for s, p in zip(support, probs):
            if p["contradict"] >= self.min_contradiction:
                return [Finding(self.name, "contradict", f"entailment head: P(contradict)={p['contradict']:.2f} "
                                f"against {s.chunk_id}", s.chunk_id, p["contradict"])]
        return []
