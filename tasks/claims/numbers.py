"""Parse and compare the numbers in claims and evidence.

Normalisation: "5.86×" == "5.86x" == "5.86 times" == "5.86-fold" (unit "x"); "38%" -> 0.38 (unit "%");
"1.4B" -> 1.4e9; "740 TFLOPs/s" -> 7.4e14 FLOP/s; "3.35 TB/s" -> 3.35e12 B/s; "80GB" and "80 GiB" -> 8e10 B
(GiB is read as GB: the 7% gap is below how precisely abstracts quote memory sizes); "29 ms" -> 0.029 s.
"""

from __future__ import annotations

import math
import re

from tasks.claims.records import Quantity

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
_WORD_NUMBERS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "sixteen": 16, "twenty": 20, "thirty-two": 32, "sixty-four": 64, "hundred": 100,
}
_WORD_NUMBERS |= {f"{w}{gap}hundred": v * 100 for w, v in list(_WORD_NUMBERS.items())[:9] for gap in " -"}  # "five hundred"
_MAGNITUDE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "billion": 1e9, "t": 1e12, "trillion": 1e12}
_PREFIX = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15}

# "per second" == "/s" == "each second" == "every second" == "a second"
_PER_SECOND = r"(?:/\s?s(?:ec)?\b|/\s?second\b|(?:per|each|every|a)\s+sec(?:ond)?\b)"
# Spelled-out fractions: "half", "a third", "two thirds", "three quarters", "one-fifth".
_FRACTION_DENOM = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
                   "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "eighth": 8, "eighths": 8, "tenth": 10, "tenths": 10, "twentieth": 20,
                   "twentieths": 20, "fiftieth": 50, "hundredth": 100, "hundredths": 100, "thousandth": 1000}
_FRACTION_NUMER = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7, "nine": 9}
_FRACTION_RE = (
    r"(?P<frac>\b(?:two|three|four|five|seven|nine)[\s-](?:thirds|quarters|fourths|fifths|sixths|eighths|tenths)\b"
    # "a third"/"one quarter" is a fraction only as a quantity ("a third of", "by a quarter."), not "a third model"
    # "one twentieth", "a hundredth", "one five-hundredth" (a word number times a hundredth/thousandth)
    r"|\b(?:a|one)[\s-](?:(?:two|three|four|five|six|seven|eight|nine|ten)[\s-](?=hundredth|thousandth))?"
    r"(?:third|quarter|fifth|sixth|eighth|tenth|twentieth|fiftieth|hundredth|thousandth)\b(?=\s+(?:of|less|fewer|more|the|their|its)\b|\s*[,.;)]|\s*$))"
)
# Order matters: the first unit pattern that matches right after the number wins.
_UNITS: list[tuple[str, str, str]] = [  # (regex, canonical unit, kind)
    (r"\s?(?:[x×]|times\b|-fold\b|\s?fold\b)(?![\w.]*\d)", "x", "multiple"),
    (r"\s?(?:%|percent\b|per\s?cent\b)", "%", "percent"),
    (r"\s?(?:tokens?|tok)\s?" + _PER_SECOND, "tokens/s", "throughput"),
    (r"\s?(?P<p>[KMGTP])?FLOP[sS]?\s?/\s?s\b|\s?(?P<p2>[KMGTP])FLOPS\b", "FLOP/s", "flops"),
    (r"\s?(?P<p>[KMGT])i?B\s?/\s?s\b|\s?(?P<p2>[KMGT])i?B\s+(?:per|each|every|a)\s+second\b", "B/s", "bandwidth"),
    (r"\s?(?P<p>[KMGTP])i?B\b", "B", "bytes"),
    (r"\s?(?:ms|milliseconds?)\b", "ms", "time"),
    (r"\s?(?:µs|μs|us|microseconds?)\b", "us", "time"),
    (r"\s?(?:s|sec|seconds?)\b(?!/)", "s", "time"),
    (r"\s?(?:min|minutes?)\b(?!/)", "min", "time"),
    (r"\s?(?:h|hrs?|hours?)\b(?!/)", "h", "time"),
    (r"\s?(?:days?)\b", "day", "time"),
    (r"\s?(?:weeks?)\b", "week", "time"),
    (r"\s?(?:months?)\b", "month", "time"),
    (r"(?:\s|-)?(?P<m>[kKMBT]|thousand|million|billion|trillion)\b", "", "count"),
]
_UNIT_RES = [(re.compile(pattern), unit, kind) for pattern, unit, kind in _UNITS]
_TIME_SCALE = {"ms": 1e-3, "us": 1e-6, "s": 1.0, "min": 60.0, "h": 3600.0, "day": 86400.0, "week": 604800.0,
               "month": 2629800.0}

_NUMBER_RE = re.compile(
    rf"(?P<wf>\b(?:{'|'.join(w for w in _WORD_NUMBERS if '-' not in w)})fold\b)"  # "fivefold"
    rf"|(?P<wh>\b(?:one|{'|'.join(w for w in _WORD_NUMBERS if '-' not in w)})\s+and\s+a\s+half\b)|"  # "two and a half"
    + _FRACTION_RE + "|"
    r"(?<![\w./-])(?P<slash>[1-9])/(?P<den>[1-9]\d{0,3})(?![\w./])|"  # "1/500 of the data"; not "DiT-XL/2", "top-2/8"
    rf"(?<![\w.])(?P<a>{_NUM})(?![\d])"
    rf"|(?P<w>\b(?:{'|'.join(sorted(_WORD_NUMBERS, key=len, reverse=True))})\b)"
    r"|(?P<half>\bhalf\b(?!-\w))|(?P<twice>\btwice\b|\bdoubles?\b|\bdoubled\b|\btripl(?:es?|ed)\b|\bquadrupl(?:es?|ed)\b)"
    r"|(?P<order>\b(?:an|one|two|three)\s+orders?\s+of\s+magnitude\b)",
    re.IGNORECASE,
)
_RANGE_GAP = re.compile(r"\s?[x×%]?\s?(?:-\s?to|-|–|—|to)\s?")  # "2-4x", "two to three", "two- to three-fold"
_BETWEEN_GAP = re.compile(r"\s?[x×%]?\s+and\s+")  # "between 6.21 and 11.23"
_BETWEEN = re.compile(r"\bbetween\s+$", re.I)
# "by a factor of 3", "a factor of between 2 and 4": a bare number after "factor of" is a multiple
_FACTOR_OF = re.compile(r"\bfactor\s+of\s+(?:(?:about|around|roughly|approximately|nearly|almost|up\s+to|over|more\s+than|at\s+least|between|some|~)\s+)?$", re.I)
_DIMENSION_RE = re.compile(rf"{_NUM}\s?[x×]\s?{_NUM}")  # 256x256 is a shape, not a multiple
_LOWER = re.compile(r"(?:more than|over|at least|exceed(?:s|ing|ed)?|above|beyond|greater than|>|≥)\s*$", re.I)
_UPPER = re.compile(r"(?:up to|as much as|as high as|at most|as many as)\s*$", re.I)
_BELOW = re.compile(r"(?:less than|fewer than|under|below|<|≤)\s*$", re.I)  # any smaller value bears it out
_APPROX = re.compile(r"(?:about|around|roughly|approximately|nearly|almost|close to|~|≈|on the order of|some)\s*$", re.I)


def _to_float(text: str) -> float:
    return float(text.replace(",", ""))


def _bound(text: str, start: int) -> str:
    before = text[max(0, start - 27):start].replace("-", " ")  # "up-to-10.3x"
    before = re.sub(r"\b(?:a|an)\s*$", "", before, flags=re.I)  # "close to a fivefold speedup"
    if re.search(r"\b(?:exactly|precisely)\s*$", before, re.I):
        return "strict"  # "exactly twice": an approximate figure does not settle it
    if _UPPER.search(before):
        return "upper"
    if _BELOW.search(before):
        return "below"
    if _LOWER.search(before):
        return "lower"
    if _APPROX.search(before):
        return "approx"
    return "exact"


def _unit_after(text: str, end: int) -> tuple[str, str, float, int]:
    """Return (unit, kind, scale, new_end) for the unit written right after a number ending at ``end``."""
    rest = text[end:end + 32]
    for regex, unit, kind in _UNIT_RES:
        m = regex.match(rest)
        if not m:
            continue
        groups = m.groupdict()
        if kind == "count":
            scale = _MAGNITUDE[groups["m"].lower()]
            tail = text[end + m.end():end + m.end() + 24].lower()
            kind = "tokens" if re.match(r"\s*(?:-\s*)?(?:(?:training|fine-?tuning|pre-?training|text|unique)\s+)?tokens?\b",
                                        tail) else "params" \
                if groups["m"] in "BMT" or re.match(r"\s*(?:-\s*)?param", tail) else "count"
            return "", kind, scale, end + m.end()
        if kind == "time":
            return "s", kind, _TIME_SCALE[unit], end + m.end()
        prefix = (groups.get("p") or groups.get("p2") or "").lower()
        return unit, kind, _PREFIX.get(prefix, 1.0), end + m.end()
    return "", "plain", 1.0, end


def parse_numbers(text: str, masked: list[tuple[int, int]] | None = None) -> list[Quantity]:
    """All numbers in ``text`` with their units, ranges and 'up to'/'more than' bounds.

    Args:
        text: a sentence or paragraph.
        masked: spans to skip (model names such as 'Mixtral 8x7B', hardware such as 'A100 80GB').
    Returns:
        Quantities in text order; percentages are fractions ("38%" -> 0.38).
    """
    masked = list(masked or [])
    masked += [m.span() for m in _DIMENSION_RE.finditer(text)]
    raw = [m for m in _NUMBER_RE.finditer(text) if not any(a <= m.start() < b for a, b in masked)]
    out: list[Quantity] = []
    i = 0
    while i < len(raw):
        m = raw[i]
        start = m.start()
        i += 1
        if m.group("frac"):
            numer, *times, denom = re.split(r"[\s-]", m.group("frac").lower())
            scale = math.prod(_WORD_NUMBERS[t] for t in times)
            out.append(Quantity(value=_FRACTION_NUMER[numer] / (scale * _FRACTION_DENOM[denom]), unit="%", kind="fraction",
                                text=m.group(0), span=m.span(), bound=_bound(text, start)))
            continue
        if m.group("wf") or m.group("wh"):
            word = re.match(r"[a-z]+", m.group(0).lower()).group(0)
            if m.group("wf"):
                value = float(_WORD_NUMBERS[word[:-4]])
                unit, kind, unit_end = "x", "multiple", m.end()
            else:
                value = (1.0 if word == "one" else float(_WORD_NUMBERS[word])) + 0.5
                unit, kind, scale, unit_end = _unit_after(text, m.end())
                if kind not in ("multiple", "time"):
                    unit, kind, unit_end = "", "plain", m.end()
                value = value * (scale if kind == "time" else 1.0)
            out.append(Quantity(value=value, unit=unit, kind=kind, text=text[start:unit_end].strip(), span=(start, unit_end),
                                bound=_bound(text, start)))
            continue
        if m.group("slash"):
            if int(m.group("slash")) >= int(m.group("den")):  # "5/2" is no share: two plain numbers, as before
                for g in ("slash", "den"):
                    out.append(Quantity(value=float(m.group(g)), unit="", kind="plain", text=m.group(g), span=m.span(g),
                                        bound=_bound(text, m.start(g))))
                continue
            out.append(Quantity(value=int(m.group("slash")) / int(m.group("den")), unit="%", kind="fraction",
                                text=m.group(0), span=m.span(), bound=_bound(text, start)))
            continue
        if m.group("half"):
            out.append(Quantity(value=0.5, unit="%", kind="fraction", text=m.group(0), span=m.span(), bound=_bound(text, start)))
            continue
        if m.group("twice"):
            word = m.group("twice").lower()
            out.append(Quantity(value=3.0 if word.startswith("tripl") else 4.0 if word.startswith("quadrupl") else 2.0, unit="x", kind="multiple", text=m.group(0), span=m.span(), bound=_bound(text, start)))
            continue
        if m.group("order"):  # "an order of magnitude" is about 10x, "two orders" about 100x
            count = {"an": 1, "one": 1, "two": 2, "three": 3}[m.group("order").split()[0].lower()]
            bound = _bound(text, start)
            out.append(Quantity(value=10.0 ** count, unit="x", kind="multiple", text=m.group(0), span=m.span(),
                                bound="approx" if bound == "exact" else bound))
            continue
        if m.group("w"):
            value, high, end = float(_WORD_NUMBERS[m.group("w").lower()]), None, m.end()
            nxt = raw[i] if i < len(raw) else None
            gap = text[m.end():nxt.start()] if nxt is not None else ""
            between = bool(_BETWEEN.search(text[max(0, start - 10):start])) and bool(_BETWEEN_GAP.fullmatch(gap))
            if nxt is not None and (nxt.group("w") or nxt.group("a")) and (_RANGE_GAP.fullmatch(gap) or between) \
                    and not text[max(0, start - 6):start].lower().endswith("from "):  # "from two to four": a change
                top = float(_WORD_NUMBERS[nxt.group("w").lower()]) if nxt.group("w") else _to_float(nxt.group("a"))
                unit, kind, scale, unit_end = _unit_after(text, nxt.end())
                if kind == "plain" and _FACTOR_OF.search(text[max(0, start - 48):start]):  # "a factor of two to ten"
                    unit, kind, scale, unit_end = "x", "multiple", 1.0, nxt.end()
                if top > value and kind not in ("plain",):  # "two to three times", "two to three tokens per second"
                    i += 1
                    scale = 0.01 if unit == "%" else scale
                    out.append(Quantity(value=value * scale, high=top * scale, unit=unit, kind=kind, bound=_bound(text, start),
                                        text=text[start:unit_end].strip(), span=(start, unit_end)))
                    continue
            unit, kind, scale, unit_end = _unit_after(text, m.end())
            if kind in ("count", "params", "tokens", "throughput", "percent", "bytes", "bandwidth"):  # "five trillion tokens",
                scale = 0.01 if unit == "%" else scale  # "three tokens per second", "five percent"
                out.append(Quantity(value=value * scale, unit=unit, kind=kind, bound=_bound(text, start),
                                    text=text[start:unit_end].strip(), span=(start, unit_end)))
                continue
            if kind == "time":  # "four weeks", "two days"
                out.append(Quantity(value=value * scale, unit=unit, kind=kind, bound=_bound(text, start),
                                    text=text[start:unit_end].strip(), span=(start, unit_end)))
                continue
            factor = _FACTOR_OF.search(text[max(0, start - 48):start])
            if factor:  # "by nearly a factor of five": a multiple, bounded by the words before "a factor of"
                unit, kind, unit_end = "x", "multiple", m.end()
                start_bound = max(0, start - 48) + factor.start()
                start_bound -= len(re.search(r"(?:\ban?\s+)?$", text[:start_bound]).group(0))
                out.append(Quantity(value=float(_WORD_NUMBERS[m.group("w").lower()]), unit=unit, kind=kind,
                                    text=text[start:unit_end].strip(), span=(start, unit_end), bound=_bound(text, start_bound)))
                continue
            if kind != "multiple":  # "three times", "two-fold" are multiples; "two of the eight" stays plain
                unit, kind, unit_end = "", "plain", m.end()
            out.append(Quantity(value=float(_WORD_NUMBERS[m.group("w").lower()]), unit=unit, kind=kind,
                                text=text[start:unit_end].strip(), span=(start, unit_end), bound=_bound(text, start)))
            continue
        value, high, end = _to_float(m.group("a")), None, m.end()
        nxt = raw[i] if i < len(raw) else None
        gap = text[m.end():nxt.start()] if nxt is not None else ""
        between = bool(_BETWEEN.search(text[max(0, start - 10):start])) and bool(_BETWEEN_GAP.fullmatch(gap))
        top = None if nxt is None else _to_float(nxt.group("a")) if nxt.group("a") \
            else float(_WORD_NUMBERS[nxt.group("w").lower()]) if nxt.group("w") else None
        if top is not None and (_RANGE_GAP.fullmatch(gap) or between) \
                and not text[max(0, start - 6):start].lower().endswith("from ") and top > value:
            high, end = top, nxt.end()  # "2-4x", "1.14x to 1.66x", "76.64% to 79.84%", "2 to four times"
            i += 1
        unit, kind, scale, unit_end = _unit_after(text, end)
        if high is not None and unit == "" and kind == "plain":
            first = _unit_after(text, m.end())  # "2x-3x": the unit sits after the first number as well
            if first[0]:
                unit, kind, scale, _ = first
        if unit == "" and kind == "plain" and _FACTOR_OF.search(text[max(0, start - 48):start]):
            unit, kind = "x", "multiple"
        if unit == "%":
            scale = 0.01
        out.append(Quantity(
            value=value * scale,
            high=None if high is None else high * scale,
            unit=unit,
            kind=kind,
            bound=_bound(text, start),
            text=text[start:unit_end].strip(),
            span=(start, unit_end),
        ))
    return _fraction_ranges(text, out)


# "a half to a third", "between half and nearly three quarters": two spelled-out shares joined as one range
_FRACTION_GAP = re.compile(r"\s*(?:-|–|to|and)\s*(?:(?:nearly|about|almost|roughly|around|some)\s+)?", re.I)


def _fraction_ranges(text: str, found: list[Quantity]) -> list[Quantity]:
    out: list[Quantity] = []
    for q in found:
        prev = out[-1] if out else None
        if prev is not None and prev.kind == q.kind == "fraction" and prev.high is None and q.high is None \
                and prev.value != q.value and (gap := _FRACTION_GAP.fullmatch(text[prev.span[1]:q.span[0]])) \
                and ("and" not in gap.group(0).lower() or _BETWEEN.search(text[max(0, prev.span[0] - 10):prev.span[0]])):
            lo, hi = sorted((prev.value, q.value))
            bound = "approx" if "approx" in (prev.bound, q.bound) or gap.group(0).strip() not in ("-", "–", "to", "and") \
                else prev.bound
            out[-1] = prev.model_copy(update={"value": lo, "high": hi, "bound": bound, "span": (prev.span[0], q.span[1]),
                                              "text": text[prev.span[0]:q.span[1]]})
            continue
        out.append(q)
    return out


def normalise(text: str) -> Quantity | None:
    """The first quantity in ``text``, e.g. normalise('5.86 times').value == 5.86."""
    found = parse_numbers(text)
    return found[0] if found else None
