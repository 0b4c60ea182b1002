"""Check "roles": two named variants whose behaviours the claim swaps.

"The Decode variant is nearly lossless, while the Greedy variant caches more aggressively": a claim that says the
Greedy variant is the lossless one and the Decode variant the aggressive one uses the right words for the wrong names.
Both names must report (not a baseline, not a setting: "on Mixtral"), joined by "while", "whereas", "but", "and" or
";" in the claim and in the sentence. Each name of the claim (and of an evidence
sentence naming the same two) owns the words after it, up to the next of
the two names; the claim is contradicted when its words sit clearly better under the other name's part of the
sentence (by ``margin`` content words, and at least ``min_words`` of them) than under the same name's part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.claims.align import Alignment
from tasks.claims.context import SentenceFacts
from tasks.claims.entities import names_match
from tasks.claims.findings import Finding, register
from tasks.claims.slots import content_stems

_JOINT = re.compile(r"\b(?:while|whilst|whereas|but|and)\b|;", re.I)


def _parts(facts: SentenceFacts, names: list[str]) -> dict[str, set[str]] | None:
    """Name -> the content stems after its mention, up to the next of ``names`` (None unless each is named once)."""
    spans = []
    for n in names:
        found = [e.span for e in facts.entities if names_match(n, e.name)]
        if len(found) != 1 or not any(names_match(n, a) for a in facts.actors()):  # both report, neither is a baseline
            return None
        spans.append((found[0], n))
    spans.sort()
    if not all(_JOINT.search(facts.text, x[0][1], y[0][0]) for x, y in zip(spans, spans[1:])):
        return None  # two variants described side by side ("A does X, while B does Y"), not one name inside another's clause
    out = {}
    for i, ((_, end), n) in enumerate(spans):
        stop = spans[i + 1][0][0] if i + 1 < len(spans) else len(facts.text)
        out[n] = content_stems(facts.text[end:stop])
    return out


def swapped_roles(claim: SentenceFacts, facts: SentenceFacts, margin: int = 2, min_words: int = 3) -> tuple[str, str] | None:
    """The two names (a, b) whose described behaviours the claim gives to each other, or None."""
    names = list(dict.fromkeys(n for n in claim.actors() if n not in claim.inherited))
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if names_match(a, b):
                continue
            mine, theirs = _parts(claim, [a, b]), _parts(facts, [a, b])
            if not mine or not theirs:
                continue
            straight = len(mine[a] & theirs[a]) + len(mine[b] & theirs[b])
            crossed = len(mine[a] & theirs[b]) + len(mine[b] & theirs[a])
            if crossed >= max(min_words, straight + margin):
                return a, b
    return None


@register("roles")
@dataclass
class Roles:
    """The claim describes two named variants with each other's words (see the module docstring)."""

    margin: int = 2
    min_words: int = 3

    def __call__(self, al: Alignment) -> list[Finding]:
        if len(al.facts.actors()) < 2:
            return []
        for s in al.sentences:
            if pair := swapped_roles(al.facts, s.facts, self.margin, self.min_words):
                return [Finding(self.name, "contradict", f"claim gives {pair[0]} what {s.chunk_id} says of {pair[1]}, "
                                f"and the other way round", s.chunk_id, float(s.hit.score))]
        return []
