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

- **crossed**: parallel lists pair by position ("4.96x and 5.75x on 16 and 2,048 GPUs"); the claim's
  matched values or names at different positions of two lists of one length are paired wrongly.

Each is a contradiction: a real number attached to the wrong model, baseline or setup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.claims.align import Alignment, Sentence
from tasks.claims.context import clause_spans
from tasks.claims.entities import names_match
from tasks.claims.findings import Finding, register
from tasks.claims.number_match import Tolerance, match_numbers
from tasks.claims.records import Entity, Quantity
from tasks.claims.slots import slot_span

_NAMED = ("model", "baseline", "dataset")
_RESULT_UNITS = ("x", "%", "tokens/s", "s", "B/s", "FLOP/s")  # results, not model sizes or counts


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
        a, b = slot_span(s.facts, e)  # the number's own clause names another setting, X sits elsewhere
        own = [y for y in strangers if e.span[1] <= y.span[0] < b and e.unit in _RESULT_UNITS  # "2.4x on LRA"
               and not any(coordinated(s.facts.text, px, y) for px in found)
               and (_group(y.kind) == _group(x.kind) or re.search(r"\b(?:on|for|in)\s+(?:the\s+)?$", s.facts.text[:y.span[0]]))]
        if own and not any(a <= px.span[0] < b for px in found):
            return f"'{e.text}' is reported with {own[0].name}, not {x.name}"
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


def _lists(items: list, text: str) -> list[list]:
    """Runs of items joined only by list words ("4.96x and 5.75x", "Qwen3-30B and Qwen3-235B")."""
    runs: list[list] = []
    for it in sorted(items, key=lambda z: z.span[0]):
        if runs and _LIST_GAP.match(text[runs[-1][-1].span[1]:it.span[0]]):
            runs[-1].append(it)
        else:
            runs.append([it])
    return [r for r in runs if len(r) > 1]


def _positions(s: Sentence) -> dict[tuple[int, int], tuple[int, int, int]]:
    """Span -> (list id, position, list length) for the items of the sentence's parallel lists."""
    text = s.facts.text
    named = [e for e in s.facts.entities if e.kind in _NAMED]
    counted = [e for e in s.facts.entities if e.kind == "hardware" and e.value]  # "2,048 A100" is a count too
    where: dict = {}
    for run in _lists(list(s.facts.numbers) + counted, text) + _lists(named, text):
        for i, it in enumerate(run):
            where.setdefault(it.span, (id(run), i, len(run)))
    return where


def _kinds_differ(a, b) -> bool:
    """Two numbers of one clause that measure different things ("5.75x ... on 16 GPUs") pair up."""
    return all(hasattr(x, "unit") and not hasattr(x, "name") for x in (a, b)) and (a.unit, a.kind) != (b.unit, b.kind)


def _pairable(a, b, counts) -> bool:
    """A value pairs with a name, a GPU count ("5.75x on 16 A100 GPUs") or a number of another unit."""
    hw = lambda x: hasattr(x, "name") and getattr(x, "kind", "") == "hardware"  # noqa: E731
    return (a in counts) != (b in counts) or _kinds_differ(a, b) or (hw(a) != hw(b) and a in counts and b in counts)


def claim_pairs(facts) -> list[tuple]:
    """What the claim pairs: items (numbers, names) of one clause, and its own parallel lists by position."""
    counts = list(facts.numbers) + [e for e in facts.entities if e.kind == "hardware" and e.value]  # "16-GPU A100"
    items = counts + [e for e in facts.entities if e.kind in _NAMED]
    pairs = [(a, b) for a0, b0 in clause_spans(facts.text) for i, a in enumerate(items) for b in items[i + 1:]
             if a0 <= a.span[0] < b0 and a0 <= b.span[0] < b0 and _pairable(a, b, counts)]
    runs = _lists(list(facts.numbers), facts.text), _lists([e for e in facts.entities if e.kind in _NAMED], facts.text)
    for nums in runs[0]:
        for names in runs[1]:
            if len(nums) == len(names):
                pairs += list(zip(nums, names))
    return pairs


def crossed(s: Sentence, pairs: list[tuple[tuple[int, int], tuple[int, int], str, str]]) -> str | None:
    """Parallel lists are paired by position ("4.96x and 5.75x ... on 16 and 2,048 GPUs"): a pair the claim makes
    (given as the two evidence spans it maps to) at different positions of two lists of one length is crossed."""
    where = _positions(s)
    for a, b, ta, tb in pairs:
        if a in where and b in where:
            (r1, p1, n1), (r2, p2, n2) = where[a], where[b]
            if r1 != r2 and n1 == n2 and p1 != p2:
                return f"'{ta}' and '{tb}' sit at different positions of parallel lists"
    return None


@register("setting")
@dataclass
class Setting:
    """Each matched claimed number: contradiction when it sits with a name the claim does not mention instead
    of the claim's own (model, baseline, dataset); no finding otherwise (support is the number check's)."""

    tol: Tolerance = Tolerance()

    def __call__(self, al: Alignment) -> list[Finding]:
        out = []
        matches = [m for m in match_numbers(al, self.tol) if m.status == "match" and m.sentence and m.evidence]
        pairs = claim_pairs(al.facts)
        for s in {id(m.sentence): m.sentence for m in matches}.values():
            # the evidence spans each claimed number or name maps to in this sentence
            spans = {id(m.claimed): [m.evidence.span] for m in matches if m.sentence is s}
            for x in al.facts.entities:
                if x.kind == "hardware" and x.value:  # a GPU count maps to the same count in the evidence
                    spans[id(x)] = [q.span for q in s.facts.numbers if q.value == x.value] + \
                        [y.span for y in s.facts.hardware if y.value == x.value]
                else:
                    spans[id(x)] = [y.span for y in s.facts.entities if names_match(x.name, y.name)]
            mapped = [(sa, sb, getattr(a, "text", None) or a.name, getattr(b, "text", None) or b.name)
                      for a, b in pairs for sa in spans.get(id(a), []) for sb in spans.get(id(b), [])]
            why = crossed(s, mapped)
            if why:
                out.append(Finding(self.name, "contradict", f"{why} ({s.chunk_id})", s.chunk_id, float(s.hit.score)))
        for m in matches:
            why = misplaced(list(al.facts.entities), al.primary, m.sentence, m.evidence, m.sentence.hit.chunk.text)
            if why:
                out.append(Finding(self.name, "contradict", f"{why} ({m.sentence.chunk_id})", m.sentence.chunk_id,
                                   float(m.sentence.hit.score)))
        return out
