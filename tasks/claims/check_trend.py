"""Check "trend": does the claim say an advantage changes with a condition the other way from its evidence?

"vLLM's advantage shrinks for longer sequences" against "with larger gains for longer sequences": the claim and
the evidence both tie an advantage (lexicon ``trend.advantage``) to a trend word (``trend.up`` / ``trend.down``)
within a few words, and share a condition (content words beyond the advantage itself). Opposite trends on a
shared condition contradict the claim; a negated trend word ("does not shrink") is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.claims.align import Alignment
from tasks.claims.check_direction import negated
from tasks.claims.findings import Finding, register
from tasks.claims.lexicon import lexicon, pattern
from tasks.claims.slots import content_stems


def trends(text: str) -> set[str]:
    """'up' and/or 'down': how the text says an advantage moves (trend word within a few words of the noun)."""
    low = text.lower()
    width = int(lexicon()["trend"]["window_words"])
    out = set()
    words = list(re.finditer(r"\S+", low))
    for noun in pattern("trend", "advantage").finditer(low):
        at = next(i for i, w in enumerate(words) if w.end() >= noun.end())
        lo, hi = words[max(0, at - width)].start(), words[min(len(words) - 1, at + width)].end()
        for side in ("up", "down"):
            for m in pattern("trend", side).finditer(low, lo, hi):
                if not negated(low, m.start()):
                    out.add(side)
    return out


@register("trend")
@dataclass
class Trend:
    """The claim's advantage trend against the aligned sentences that share its condition."""

    min_shared: int = 2

    def __call__(self, al: Alignment) -> list[Finding]:
        said = trends(al.claim.text)
        if len(said) != 1:
            return []
        claim_words = content_stems(al.claim.text)
        for s in al.aligned:
            found = trends(s.facts.text)
            if len(found) == 1 and found != said and len(claim_words & content_stems(s.facts.text)) >= self.min_shared:
                return [Finding(self.name, "contradict", f"the claim's advantage goes {next(iter(said))} but {s.chunk_id} "
                                f"says it goes {next(iter(found))}", s.chunk_id, float(s.hit.score))]
        return []
