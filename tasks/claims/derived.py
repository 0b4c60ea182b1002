"""Quantities a sentence implies but does not state: what remains after a reduction, per-token times as rates, and
the ratios of two numbers of one kind (check "numbers" reads a claim's figure against them when nothing states it)."""

from __future__ import annotations

import re

from tasks.claims.records import Quantity
from tasks.claims.slots import counts_same_noun


_FROM_TO = re.compile(r"^\s*(?:[a-z%]+\s+)?to\s+$", re.I)
_INCREMENT = r"further|additional|extra|another"  # "a further 10%": an increment on top of another result
_HEDGE = rf"(?:(?:more|less|fewer)\s+than|up\s+to|at\s+(?:least|most)|about|around|roughly|nearly|almost|approximately|over|under|only|just|some|{_INCREMENT}|a|an|~)"
_FURTHER = re.compile(rf"\b(?:{_INCREMENT})\s+(?:\w+\s+)?$", re.I)
_PREPOSITION = re.compile(rf"\b(by|to)\s+(?:{_HEDGE}\s+)*$", re.I)


def preposition(text: str, q: Quantity) -> str | None:
    """"by" when ``q`` is said as the amount of a change ("cuts latency by half"), "to" when it is what remains
    ("cuts latency to half"), None when the sentence does not say."""
    m = _PREPOSITION.search(text[max(0, q.span[0] - 40):q.span[0]])
    return m.group(1).lower() if m else None


def remainder_reads(claim_text: str, c: Quantity, text: str, e: Quantity, numbers: list[Quantity]) -> bool:
    """May the derived remainder ``e`` ("100% - 39%") bear out claimed ``c``? Not when both say the amount ("cut by
    more than half" is not "reduced by 39%": 61% remains), nor when both say what remains."""
    if e.text.endswith(" - 1"):  # "1.5x faster" is "50% faster", not "faster by half" (which may mean half the time),
        return c.kind == "percent" and not _FURTHER.search(claim_text[:c.span[0]])  # nor "a further 50%"
    if not e.text.startswith(("100% - ", "1/")):  # what remains: "100% - 39%", "1/32x fewer", "1/2-3x less"
        return True
    source = next((q for q in numbers if q.span == e.span), None)
    said, source_said = preposition(claim_text, c), source is not None and preposition(text, source)
    return not (said == "by" and source_said in ("by", None) or said == "to" and source_said == "to")


def derived_quantities(numbers: list[Quantity], text: str) -> list[Quantity]:
    """Quantities the sentence implies but does not state, read as approximate: what remains after a
    reduction ("cuts the cache by 93.3%" -> 6.7% remains; "32x fewer" -> 1/32 remains), and the ratios of two numbers of the same unit
    and kind, never two ratios ("671B total, 37B activated" -> 5.5% and 18.1x; "falls from 69.5 to 14.6" -> 4.76x, 21% and a
    79% reduction; bare numbers only in a "from A to B" phrase)."""
    out = [q.model_copy(update={"value": 1 - q.value, "direction": None, "bound": "approx", "text": f"100% - {q.text}"})
           for q in numbers if q.unit == "%" and q.direction == "down" and q.high is None and 0 < q.value < 1]
    # "32x fewer evaluations" -> about 3% of them remain (1/32)
    out += [q.model_copy(update={"value": 1 / q.value, "unit": "%", "kind": "percent", "direction": None, "bound": "approx",
                                 "text": f"1/{q.text}"})
            for q in numbers if q.unit == "x" and q.direction == "down" and q.high is None and q.value > 1]
    # "2-3x less CPU memory" -> a third to a half of it remains
    out += [q.model_copy(update={"value": 1 / q.high, "high": 1 / q.value, "unit": "%", "kind": "percent", "direction": None,
                                 "bound": "approx", "text": f"1/{q.text}"})
            for q in numbers if q.unit == "x" and q.direction == "down" and q.high is not None and q.value > 1]
    # "1.55x faster" is "55% faster"
    out += [q.model_copy(update={"value": q.value - 1, "unit": "%", "kind": "percent", "bound": "approx",
                                 "text": f"{q.text} - 1"})
            for q in numbers if q.unit == "x" and q.high is None and 1 < q.value < 3 and "speed" in q.metrics  # < 200%
            and q.direction != "down"]
    # "29 ms per token" is about 34 tokens per second, and the other way round
    for q in numbers:
        per_token = re.match(r"\s*(?:per|each|a|/)\s*(?:generated\s+|output\s+)?token\b", text[q.span[1]:q.span[1] + 30], re.I)
        if q.unit == "s" and q.high is None and q.value > 0 and per_token:
            out.append(q.model_copy(update={"value": 1 / q.value, "unit": "tokens/s", "kind": "throughput", "bound": "approx",
                                            "metrics": ("throughput",), "direction": None, "text": f"1/{q.text}"}))
        if q.unit == "tokens/s" and q.high is None and q.value > 0:
            out.append(q.model_copy(update={"value": 1 / q.value, "unit": "s", "kind": "time", "bound": "approx",
                                            "metrics": ("latency",), "direction": None, "text": f"1/{q.text}"}))
    for i, a in enumerate(numbers):
        for b in numbers[i + 1:]:
            if a.unit != b.unit or a.kind != b.kind or a.unit in ("x", "%") or a.high is not None or b.high is not None \
                    or a.value <= 0 or b.value <= 0 or a.value == b.value:
                continue
            from_to = bool(_FROM_TO.match(text[a.span[1]:b.span[0]])) and text[:a.span[0]].rstrip().lower().endswith("from")
            # "8 of 64 experts", "64 experts, 8 of them active": a count within a count of the same thing
            part_of = a.kind == "plain" and re.search(r"^\s*(?:out\s+)?of\s+(?:the\s+|its\s+|all\s+)?$", text[a.span[1]:b.span[0]]) \
                or counts_same_noun(text, a, text, b)
            if a.kind in ("plain", "count") and not from_to and not part_of:
                continue
            lo, hi = sorted((a.value, b.value))
            metrics = tuple(m for m in a.metrics if m in b.metrics) or a.metrics or b.metrics
            common = {"span": a.span, "bound": "approx", "metrics": metrics, "text": f"{a.text} vs {b.text}"}
            out.append(Quantity(value=hi / lo, unit="x", kind="multiple", **common))
            out.append(Quantity(value=lo / hi, unit="%", kind="percent", **common))
            if from_to:
                way = "down" if b.value < a.value else "up"
                out.append(Quantity(value=abs(b.value - a.value) / a.value, unit="%", kind="percent", direction=way,
                                    **common))
    return out
