"""Slots: the part of a sentence a number is reported for, its content words and its qualifiers.

"57B parameters overall with 14B activated" has two slots; a claimed "14B total" must match the first
slot's qualifier ("overall"), not merely the value of the second.
"""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from tasks.claims.context import SentenceFacts, clause_spans, metrics_of, metrics_overlap
from tasks.claims.entities import names_match
from tasks.claims.lexicon import lexicon, pattern, qualifier_groups
from tasks.claims.records import Quantity

_STOP = set(ENGLISH_STOP_WORDS)
_LISTED = re.compile(r"\s*(?:,\s*)?(?:and|or)\s+|\s*,\s*")


def stem(word: str) -> str:
    for suffix in lexicon()["stem_suffixes"]:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> set[str]:
    """Stemmed content words of ``text`` (stop words and words of two letters dropped)."""
    return {stem(w) for w in re.findall(r"[a-z][a-z\-]+", text.lower()) if len(w) > 2 and w not in _STOP}


def slot_span(facts: SentenceFacts, q: Quantity) -> tuple[int, int]:
    """``q``'s clause, narrowed to the text between its neighbouring numbers when the clause holds several. A number
    listed right before another ("4.86x and 2.18x speedup on A and B, respectively") shares the list's slot."""
    text = facts.text
    nxt = next((o for o in facts.numbers if o.span[0] > q.span[1] and (o.unit, o.kind) == (q.unit, q.kind)
                and _LISTED.fullmatch(text[q.span[1]:o.span[0]])), None)
    if nxt is not None:
        return q.span[0], slot_span(facts, nxt)[1]
    a, b = next(((a, b) for a, b in clause_spans(text) if a <= q.span[0] < b), (0, len(text)))
    whole = next((o for o in facts.numbers if o.span[0] > q.span[1] and _PART_OF.fullmatch(text[q.span[1]:o.span[0]])), None)
    part = next((o for o in facts.numbers if o.span[1] < q.span[0] and _PART_OF.fullmatch(text[o.span[1]:q.span[0]])), None)
    if part is not None:  # "1B of its 7B parameters are used": the whole is only its noun, the rest is said of the part
        noun = re.match(r"(?:[\s-]+(?!(?:are|is|was|were|be|of|in|on|for|per|and|or|to)\b)[a-z][\w-]*){0,2}", text[q.span[1]:b], re.I)
        return q.span[0], q.span[1] + noun.end()
    for o in facts.numbers:
        if o is q:
            continue
        if a <= o.span[1] <= q.span[0]:
            a = o.span[1]
        if q.span[1] <= o.span[0] < b and o is not whole:
            b = o.span[0]
    return a, b


# "1B of its roughly 7B parameters", "8 out of the 64 experts": a part, then the whole it is part of
_PART_OF = re.compile(r"\s*(?:out\s+)?of\s+(?:its|the|their|all)?\s*(?:(?:about|roughly|around|nearly|some|~)\s+)?", re.I)


def slot_text(facts: SentenceFacts, q: Quantity) -> str:
    """The slot's text with names and the number itself blanked out."""
    a, b = slot_span(facts, q)
    chars = list(facts.text[a:b])
    for lo, hi in [e.span for e in facts.entities] + [q.span]:
        for i in range(max(a, lo), min(b, hi)):
            chars[i - a] = " "
    return "".join(chars)


def slot_words(facts: SentenceFacts, q: Quantity) -> set[str]:
    """Content words around ``q`` without names: what the number is reported for."""
    return content_stems(slot_text(facts, q))


def slot_metrics(facts: SentenceFacts, q: Quantity) -> tuple[str, ...]:
    """What ``q`` measures, read from its slot only (falls back to its clause's metrics)."""
    return metrics_of(slot_text(facts, q), q) or q.metrics


def same_slot_metric(cf: SentenceFacts, c: Quantity, ef: SentenceFacts, e: Quantity) -> bool:
    """Do the slots of claim number ``c`` and evidence number ``e`` name the same specific metric? Unknown passes."""
    cm, em = slot_metrics(cf, c), slot_metrics(ef, e)
    if not cm or not em:
        return True
    return metrics_overlap(c.model_copy(update={"metrics": cm}), e.model_copy(update={"metrics": em}), strict=True)


def slot_qualifiers(facts: SentenceFacts, q: Quantity) -> dict[str, list[str]]:
    """Mutually exclusive qualifiers in ``q``'s slot, plus the baselines and datasets it names."""
    text = slot_text(facts, q)
    out = {g: [k for k, r in d.items() if r.search(text)] for g, d in qualifier_groups().items()}
    a, b = slot_span(facts, q)
    for kind in ("baseline", "dataset"):
        out[kind] = [e.name for e in facts.entities if e.kind == kind and a <= e.span[0] < b]
    lo, hi = _lead_in(facts)
    shape = pattern("resolution_shape")
    dims = (shape.findall(text) or shape.findall(facts.text)) \
        if pattern("resolution_context").search(facts.text) else []  # the number's own, else its sentence's
    if dims:  # "on ImageNet 256x256": a resolution is the setting of the numbers of its sentence
        out["resolution"] = sorted({re.sub(r"\s", "", d).replace("×", "x") for d in dims})
    for g in lexicon()["sentence_qualifiers"]:  # "In the revised version, ... 16.5 ... 99.55%": every number's version
        if not out.get(g):
            out[g] = [k for k, r in qualifier_groups()[g].items() if r.search(facts.text[:hi])]
    if not out["dataset"]:
        out["dataset"] = [e.name for e in facts.entities if e.kind == "dataset" and lo <= e.span[0] < hi]
    return {g: v for g, v in out.items() if v}


def _lead_in(facts: SentenceFacts) -> tuple[int, int]:
    """The words of the sentence's first clause before its first number ("On CIFAR10 they reach a score of 9.46 and
    an FID of 3.17"): a dataset named there is the setting of every number the sentence lists whose own slot names
    none, not of the first one only."""
    first = min((o.span[0] for o in facts.numbers), default=0)
    a = next((a for a, b in clause_spans(facts.text) if a <= first < b), 0)
    return a, first


def list_head(facts: SentenceFacts) -> set[str]:
    """The content words before a sentence's first number, when it lists several: they head every item, so they
    tell no item's slot from another's."""
    if len(facts.numbers) < 2:
        return set()
    lo, hi = _lead_in(facts)
    return content_stems(facts.text[lo:hi])


def shares(group: str, xs: list[str], ys: list[str]) -> bool:
    """Do two qualifier lists of one group name the same thing (names compared as names)?"""
    if group in ("baseline", "dataset"):
        return any(names_match(x, y) for x, y in ((x, y) for x in xs for y in ys))
    return bool(set(xs) & set(ys))


def plain(facts: SentenceFacts) -> str:
    """The sentence with its named entities blanked out (so a model name is not read as a word)."""
    chars = list(facts.text)
    for e in facts.entities:
        for i in range(*e.span):
            chars[i] = " "
    return "".join(chars)


def comparator(facts: SentenceFacts, q: Quantity, exclude: list[str] = ()) -> list[str]:
    """Names that ``q`` is measured against: those after a comparison cue in its slot ("2.4x over dense
    networks trained with Megatron-LM" -> ["Megatron-LM"]), the claim's own subjects left out."""
    a, b = slot_span(facts, q)
    cue = pattern("comparator_cue").search(facts.text, a, b)
    if cue is None:
        return []
    start = cue.end()
    return [e.name for e in facts.entities if e.kind in ("model", "baseline") and start <= e.span[0] < b
            and not any(names_match(e.name, x) for x in exclude)]


def compared(facts: SentenceFacts, q: Quantity) -> bool:
    """Is ``q`` stated against something, named or not ("8-31x higher than model-based batching systems")?"""
    a, b = slot_span(facts, q)
    return pattern("comparator_cue").search(facts.text, a, b) is not None


def _noun_after(text: str, q: Quantity):
    """The word a number counts ("64 experts" -> experts), as a match whose group 1 is the word, or None."""
    return re.match(r"\s*(?:[a-z]+-)?([a-z]{3,})", text[q.span[1]:q.span[1] + 30].lower())


def _counted_words(claim_text: str, c: Quantity, text: str, e: Quantity) -> tuple[str, str] | None:
    """The stemmed words two bare counts count ("64 experts" -> expert), or None unless both are bare counts
    followed by a word. Sizes are left out: "47B parameters ... while only 13B are active" keeps its qualifier."""
    if c.kind != "plain" or e.kind != "plain":
        return None
    nc, ne = _noun_after(claim_text, c), _noun_after(text, e)
    return (stem(nc.group(1)), stem(ne.group(1))) if nc and ne else None


def counts_same_noun(claim_text: str, c: Quantity, text: str, e: Quantity) -> bool:
    """Two bare counts of the same thing ("64 experts" in the claim and in the evidence): one slot."""
    words = _counted_words(claim_text, c, text, e)
    return words is not None and words[0] == words[1]


def same_counted(claim_text: str, c: Quantity, text: str, e: Quantity) -> bool:
    """Bare counts refute each other only when they count the same thing ("64 cache slots" vs "six cache slots",
    not "64 tokens" vs "six benchmarks"); any other pair may."""
    words = _counted_words(claim_text, c, text, e)
    return words is None or words[0] == words[1]
