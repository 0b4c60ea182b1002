"""Check "setting": is a matched number reported in the setting (other models, baselines, datasets) the claim names?

"numbers" says a claimed value appears for the claim's subject. A sentence often reports several results
side by side ("16B matches LLaMA2 7B with 40% of the compute, and 145B matches DeepSeek 67B with 28.5%"),
so the value must also sit with the claim's *other* names. Two readings, both about where names sit
relative to the matched number in its evidence sentence:

- **interposed**: the claim's other name X is in the sentence, but a name Y the claim does not mention
  lies between X and the number, on the same side, and is not in one list with X ("X and Y"). The
  number belongs to Y's part of the sentence.
- **absent**: the claim's other name X (a model it is run on) is nowhere in the evidence chunk, while the
  sentence names another model Y that the claim does not. The number was measured on Y.

Either is a contradiction: a real number attached to the wrong model or baseline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.claims.align import Alignment, Sentence
from tasks.claims.entities import names_match
from tasks.claims.findings import Finding, register
from tasks.claims.number_match import Tolerance, match_numbers
from tasks.claims.records import Entity, Quantity

_NAMED = ("model", "baseline", "dataset")


def _group(kind: str) -> str:
    return "dataset" if kind == "dataset" else "system"  # a baseline is a model in another role


def _matches_any(name: str, names: list[str]) -> bool:
    return any(names_match(name, n) for n in names)


_LIST_GAP = re.compile(r"^[\s,()]*(?:(?:and|or|as well as)\b)?[\s,()]*$", re.I)


def coordinated(text: str, a: Entity, b: Entity) -> bool:
    """Are two names members of one list ("on X and Y, ... 39% and 15% respectively")? Then neither scopes out the other."""
    first, second = sorted((a, b), key=lambda z: z.span[0])
    return bool(_LIST_GAP.match(text[first.span[1]:second.span[0]]))


def misplaced(claim_entities: list[Entity], primary: list[str], s: Sentence, e: Quantity,
              chunk_text: str) -> str | None:
    """Why the number ``e`` of sentence ``s`` is not the claim's (see the module docstring), or None."""
    claim_names = [x.name for x in claim_entities]
    inherited = list(s.facts.inherited)
    others = [x for x in claim_entities if x.kind in _NAMED and not _matches_any(x.name, primary)]
    strangers = [y for y in s.facts.entities if y.kind in _NAMED and not _matches_any(y.name, claim_names + primary)
                 and not _matches_any(y.name, inherited)]
    for x in others:
        found = [y for y in s.facts.entities if y.kind in _NAMED and names_match(x.name, y.name)]
        if not found:
            if x.kind == "model" and not _matches_any(x.name, inherited) and x.name.lower() not in chunk_text.lower():
                ys = [y for y in strangers if y.kind == "model"]
                if ys:
                    return f"'{e.text}' was measured on {ys[0].name}; the evidence does not mention {x.name}"
            continue
        blocking = []
        for px in found:
            lo, hi = sorted((px.span[1], e.span[0])) if px.span[1] <= e.span[0] else sorted((e.span[1], px.span[0]))
            between = [y for y in strangers if _group(y.kind) == _group(x.kind) and lo <= y.span[0] and y.span[1] <= hi
                       and not coordinated(s.facts.text, px, y)]
            if not between:
                return None  # one occurrence of X sits with the number
            blocking += between
        return f"'{e.text}' is reported with {blocking[0].name}, not {x.name}"
    return None


@register("setting")
@dataclass
class Setting:
    """Each matched claimed number: contradiction when it sits with a name the claim does not mention instead
    of the claim's own (model, baseline, dataset); no finding otherwise (support is the number check's)."""

    tol: Tolerance = Tolerance()

    def __call__(self, al: Alignment) -> list[Finding]:
        out = []
        for m in match_numbers(al, self.tol):
            if m.status != "match" or m.sentence is None or m.evidence is None:
                continue
            why = misplaced(list(al.facts.entities), al.primary, m.sentence, m.evidence, m.sentence.hit.chunk.text)
            if why:
                out.append(Finding(self.name, "contradict", f"{why} ({m.sentence.chunk_id})", m.sentence.chunk_id,
                                   float(m.sentence.hit.score)))
        return out
