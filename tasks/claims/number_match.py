"""Number alignment: for each claimed number, the evidence number that bears it out, or the one that differs.

A claimed number is *borne out* by an aligned number of the same unit and metric within tolerance (bounds
and ranges respected) that sits in the slot whose words and qualifiers match the claim's. It has a *rival*
when no aligned number bears it out but an aligned number reported for the claim's actor, of the same unit
and specific metric, says otherwise. Checks (numbers, polarity, attribution) read these matches.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from tasks.claims.align import Alignment, Sentence
from tasks.claims.entities import names_match
from tasks.claims.lexicon import lexicon, pattern
from tasks.claims.number_agree import units_compatible, values_consistent
from tasks.claims.rivals import differs, other_setup, own_paper_rival, unnamed_rivals
from tasks.claims.records import Quantity
from tasks.claims.slots import (compared, comparator, counts_same_noun, list_head, same_slot_metric,
                                shares, slot_qualifiers, slot_text, slot_words)
from tasks.claims.context import metrics_overlap
from tasks.claims.derived import derived_quantities, remainder_reads


@dataclass(frozen=True)
class Tolerance:
    rel_tol: float = 0.02  # numbers agree within 2% ...
    approx_tol: float = 0.06  # ... or 6% when either side says "about"
    slot_margin: int = 2  # content words by which another number's slot must fit the claim better


@dataclass(frozen=True)
class NumberMatch:
    """What the aligned evidence says about one claimed number."""

    claimed: Quantity
    status: Literal["match", "other_slot", "other_comparator", "other_metric", "rival", "unknown"]
    sentence: Sentence | None = None
    evidence: Quantity | None = None
    owner: str = ""  # rival: where the claimed value does appear, attached to another entity
    comparator: tuple[str, str] = ("", "")  # other_comparator: (the claim's, the evidence's)


def match_numbers(al: Alignment, tol: Tolerance = Tolerance()) -> list[NumberMatch]:
    """One :class:`NumberMatch` per number of the claim (cached on the alignment)."""
    if "numbers" not in al.cache:
        al.cache["numbers"] = _one_each([_match_one(al, c, tol) for c in al.facts.numbers])
    return al.cache["numbers"]


def owner_of(facts, q: Quantity) -> str | None:
    return next((o for i, o in facts.owners.items() if facts.numbers[i] is q), None)


def same_owner(cf, c: Quantity, ef, e: Quantity) -> bool:
    """Do the claim and the evidence tie the number to one name ("Dream's 580B tokens", "Dream (580B tokens)")?"""
    a, b = owner_of(cf, c), owner_of(ef, e)
    return a is not None and b is not None and names_match(a, b)


def _one_each(matches: list[NumberMatch]) -> list[NumberMatch]:
    """Two claimed numbers cannot both be one evidence number: "pruning 66% of tokens cuts FLOPs by two-thirds"
    matched twice to "66%" leaves the approximate reading ("two-thirds") in another slot."""
    exact = {(id(m.sentence), m.evidence.span) for m in matches if m.status == "match" and m.claimed.bound != "approx"
             and m.claimed.text.replace(" ", "") == m.evidence.text.replace(" ", "")}
    out = []
    for m in matches:
        stated = m.status == "match" and m.sentence.facts.text[m.evidence.span[0]:m.evidence.span[1]].strip() == m.evidence.text
        key = (id(m.sentence), m.evidence.span) if stated else None  # derived ratios share their source's span
        if key in exact and m.claimed.text.replace(" ", "") != m.evidence.text.replace(" ", ""):
            m = NumberMatch(m.claimed, "other_slot", m.sentence, m.evidence)
        out.append(m)
    return out


def _match_one(al: Alignment, c: Quantity, tol: Tolerance) -> NumberMatch:
    found, other_slot, other_comparator = _support(al, c, tol)
    if found is not None and (rival := own_paper_rival(al, c, found[0], tol)):
        return NumberMatch(c, "rival", *rival, f"'{found[1].text}' is another paper's ({found[0].chunk_id})")
    if found is not None:
        return NumberMatch(c, "match", *found)
    if other_slot is not None:
        s, e, why = other_slot
        mine = e.value == c.value and (held := owner_of(s.facts, e))
        return NumberMatch(c, "other_slot", s, e, why or (f"'{e.text}' belongs to {held} ({s.chunk_id})" if mine else ""))
    if other_comparator is not None:
        s, e, pair = other_comparator
        return NumberMatch(c, "other_comparator", s, e, comparator=pair)
    cf, subjects = al.facts, al.subjects
    # A rival must be reported for the claim's actor, not merely measured on it by another system.
    rivals = [(s, e) for s in al.aligned if any(names_match(a, p) for a in s.facts.actors() for p in al.primary)
              or (al.setting_only and s.facts.mentions(al.primary, explicit_only=True))
              for e in s.facts.numbers_for(subjects) if differs(cf.text, c, s.facts.text, e, tol)]
    if not subjects:  # a claim that names nothing: only a number in its own slot (most of its words) says otherwise
        rivals = unnamed_rivals(al, c, tol)
    # A figure measured against other baselines says nothing of the claim's comparison ("8-31x over FlexGen" is
    # not a rival of "50x over vLLM"); the same value against another baseline is handled above (other_comparator).
    against = comparator(cf, c, al.primary)
    if against:
        rivals = [(s, e) for s, e in rivals if not compared(s.facts, e)
                  or any(names_match(x, y) for x in against for y in comparator(s.facts, e, al.primary))]
    # A claim set on named hardware is not refuted by a figure from a sentence about another setup, nor a figure of
    # an unnamed device ("a single GPU with 24 GB") by a named one's ("the 80 GB of an A100").
    if cf.hardware:
        rivals = [(s, e) for s, e in rivals if not other_setup(s, cf.hardware)]
    elif pattern("device_words").search(slot_text(cf, c)):
        rivals = [(s, e) for s, e in rivals if not s.facts.hardware]
    if not rivals or not subjects and len({(e.value, e.high) for _, e in rivals}) != 1:  # whose number it is must be known
        swapped = _other_metric(al, c, tol) if subjects else None
        return NumberMatch(c, "other_metric", *swapped) if swapped else NumberMatch(c, "unknown")
    others = [o for o in cf.numbers if o is not c]
    fresh = [(s, e) for s, e in rivals if not any(values_consistent(o, e, tol.rel_tol, tol.approx_tol) for o in others)]
    s, e = (fresh or rivals)[0]
    return NumberMatch(c, "rival", s, e, _owner_elsewhere(al, c, tol))


def _support(al: Alignment, c: Quantity, tol: Tolerance):
    """The first aligned number that bears ``c`` out, and else a same-sentence number in ``c``'s slot.

    A sentence that lists several results ("1.26x for single-batch inference, 11.57x for beam search")
    bears a value out only in the slot whose words match the claim's. A result measured against other
    baselines ("4x over T5-XXL") does not bear out a claim against the claim's baselines.
    """
    cf, other_slot, other_comparator = al.facts, None, None
    claim_slot, claim_quals = slot_words(cf, c), slot_qualifiers(cf, c)
    claim_against = comparator(cf, c, al.primary)
    for s in al.aligned:
        if al.baselines and s.facts.baselines and not any(
                names_match(b, e.name) for b in al.baselines for e in s.facts.entities):
            continue
        if only_as_baseline(s, al):  # another paper comparing against the claim's subject ("beats LLaMA2 7B with 40%")
            continue
        candidates = s.facts.numbers_for(al.subjects)
        if c.bound in ("lower", "below", "upper") and c.high is None and c.value > 0:  # "a little over twice": the nearest
            candidates = sorted(candidates, key=lambda e: abs(math.log(e.value / c.value)) if e.value > 0 else math.inf)
        for e in candidates:
            if vague(e):  # "an order of magnitude" bears a claim out only when nothing more precise does
                continue
            if not (metrics_overlap(c, e, strict=False) and values_consistent(c, e, tol.rel_tol, tol.approx_tol)):
                continue
            # A lower bound ("more than 40%") is met by any larger number, so it must measure the same thing.
            if c.bound == "lower" and c.high is None and not same_slot_metric(cf, c, s.facts, e):
                continue
            others = [o for o in candidates if o is not e and units_compatible(c, o)
                      and not values_consistent(c, o, tol.rel_tol, tol.approx_tol)]
            e_quals = slot_qualifiers(s.facts, e)
            mismatch = any(g in e_quals and not shares(g, q, e_quals[g]) for g, q in claim_quals.items())
            # a qualifier of the claim that the matched number lacks but another number carries
            rival = next((o for o in others for g, q in claim_quals.items()
                          if not shares(g, q, e_quals.get(g, [])) and shares(g, q, slot_qualifiers(s.facts, o).get(g, []))),
                         None)
            if rival is None:  # another number whose slot shares clearly more of the claim's words
                head = list_head(s.facts)  # "reports speedups of 1.26x for ..., 11.57x for beam search": every item's
                own = len(claim_slot & (slot_words(s.facts, e) - head))
                best = max(((len(claim_slot & (slot_words(s.facts, o) - head)), o) for o in others), key=lambda t: t[0],
                           default=(0, None))
                if best[1] is not None and best[0] >= tol.slot_margin and best[0] >= own + tol.slot_margin:
                    rival = best[1]
            if rival is None and (held := owner_of(s.facts, e)) and not same_owner(cf, c, s.facts, e) \
                    and not any(names_match(held, x) for x in al.subjects) and held in [b.name for b in s.facts.baselines]:
                rival = e  # the paper ties the value to a baseline ("such as Dream (580B tokens)"), the claim does not
            if rival is not None and not counts_same_noun(cf.text, c, s.facts.text, e) \
                    and not same_owner(cf, c, s.facts, e):  # "64 experts" is "64 experts"; "Dream's 580B" is "Dream (580B)"
                other_slot = other_slot or (s, rival, "")
                continue
            if mismatch:  # the value, reported in another setting that excludes the claim's (resolution, version)
                clash = next((g for g, q in claim_quals.items() if g in lexicon()["exclusive_qualifiers"] and g in e_quals
                              and not shares(g, q, e_quals[g])), None)
                if clash and other_slot is None:
                    other_slot = (s, e, f"{s.chunk_id} reports '{e.text}' for {clash} {', '.join(e_quals[clash])}, "
                                        f"not {', '.join(claim_quals[clash])}")
                continue
            against = comparator(s.facts, e, al.primary)
            if claim_against and against and not any(names_match(x, y) for x in claim_against for y in against):
                other_comparator = other_comparator or (s, e, (claim_against[0], against[0]))
                continue
            return (s, e), None, None
    if other_slot is None and other_comparator is None and c.unit in ("x", "%", "tokens/s", "s"):  # implied, not stated
        for s in al.aligned:
            numbers = s.facts.numbers_for(al.subjects)
            for e in [q for q in numbers if vague(q)] + derived_quantities(numbers, s.facts.text):
                if metrics_overlap(c, e, strict=False) and values_consistent(c, e, tol.rel_tol, tol.approx_tol) \
                        and remainder_reads(cf.text, c, s.facts.text, e, numbers):
                    return (s, e), None, None
    return None, other_slot, other_comparator


def only_as_baseline(s: Sentence, al: Alignment) -> bool:
    """Does the sentence name the claim's subject only as what another paper's system is compared against?"""
    if any(names_match(x, i) for x in al.subjects for i in s.facts.inherited):
        return False  # the subject's own paper
    named = [e for e in s.facts.entities if any(names_match(p, e.name) for p in al.primary)]
    return bool(named) and all(e.kind == "baseline" for e in named)


def vague(q: Quantity) -> bool:
    """A quantity stated only to its order ("an order of magnitude")."""
    return "magnitude" in q.text


def _distinctive(q: Quantity) -> bool:
    """A value unlikely to recur by chance: a range, or one quoted with decimals ("76.64% to 79.84%", "5.86x")."""
    return q.high is not None or bool(re.search(r"\d\.\d", q.text))


def _other_metric(al: Alignment, c: Quantity, tol: Tolerance):
    """The claim's distinctive value, reported for its subject but measuring something else (memory, not latency)."""
    if not _distinctive(c) or not c.metrics:
        return None
    for s in al.aligned:
        for e in s.facts.numbers_for(al.subjects):
            if e.metrics and values_consistent(c, e, tol.rel_tol, tol.approx_tol) \
                    and not metrics_overlap(c, e, strict=True) and not metrics_overlap(c, e, strict=False):
                return s, e
    return None


def _owner_elsewhere(al: Alignment, c: Quantity, tol: Tolerance) -> str:
    """Where the claimed value does appear, attached to another entity (the misattribution case)."""
    for s in al.sentences:
        owned = {id(q): o for q, o in s.facts.numbers_owned_elsewhere(al.subjects)}
        for e in s.facts.numbers:
            if e.high is not None or not values_consistent(c, e, tol.rel_tol, tol.approx_tol):
                continue
            if id(e) in owned:
                return f"'{e.text}' belongs to {owned[id(e)]} ({s.chunk_id})"
            if al.subjects and not s.facts.mentions(al.subjects):
                other = ", ".join(s.facts.subjects()[:2]) or s.hit.chunk.arxiv_id
                return f"'{e.text}' belongs to {other} ({s.chunk_id})"
    return ""
