"""The report as written (report.md, possibly edited by its owner): sections, and the numbers in them with their tags.

A number's provenance tag is the first ``[kind: source]`` tag after it in the same
sentence, unless a comparison word comes between them (tasks/provenance.py renders
``value unit [kind: source]``; a band ``95 (95–121) experts [modelled: ...]`` shares one tag;
in ``X ms against Y ms [tag]`` and ``X ms at N=64 and Y ms [tag]`` only Y is tagged). Numbers that are settings
rather than results (``N=64``, ``E=256``, ``block 32``), parts of names
(``H100``, ``Llama-2-70B``, ``arXiv:2401.04088``), run ids and links are not results
and are skipped; ratios (``×1.28``) are marked as derived.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from functools import lru_cache

from tasks.provenance import TAG_RE

HEADING_RE = re.compile(r"^(#{2,3})\s+(.+?)\s*$", re.M)
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*(?:\.\d+)?")
# Text that holds no reported number: code spans (run ids), links, autolinks, image tags.
STRIP_RES = (re.compile(r"`[^`]*`"), re.compile(r"!\[[^\]]*\]\([^)]*\)"), re.compile(r"\]\([^)]*\)"), re.compile(r"<https?://[^>]*>"))
# Settings, not results: "N=64", "E=256", "block 32", "top-8", "arXiv 2401.04088", "Table 4", "4.8/3.35".
SETTING_BEFORE = re.compile(r"(?:\b[NEBkK]\s*=\s*|\bblock(?:s| size| length)?\s*(?:of\s*)?|"
                            r"\btop-|\bthreshold\s*|\barXiv[: ]\s*|\bTable\s*|\bFigure\s*|\bFig\.\s*|\bsection\s*|\bround\s*|"
                            r"\bstep\s*|\bv|\bN\s*∈\s*\{?|\bN\s*≥\s*|/)$", re.I)
# ... and the rest of a list of settings: "N=64 and 128", "blocks 8, 16, 24" (integers only).
SETTING_LIST_BEFORE = re.compile(r"\b(?:N|B|blocks?|block sizes?)\s*=?\s*(?:\d+\s*(?:,|and|or|vs\.?)\s*)+$", re.I)
# A label written before the tag format existed: "(calibrated routing, measured:NVIDIA H200)".
LEGACY_RE = re.compile(r"\b(measured|projected|modelled|published):\s?([A-Z][\w .-]*\w)")
UNIT_AFTER = re.compile(r"\s*(?:\(\s*\d[\d.]*\s*[–-]\s*\d[\d.]*\s*\)\s*)?(ms|µs|μs|us|GB(?!/s)|TB/s)(?![\w/])")
ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}")
BAND_PAREN = re.compile(r"\(\s*\d[\d.]*\s*[–-]\s*\d[\d.]*\s*\)")
COMPARISON = re.compile(r"\b(?:against|vs\.?|versus|compared|whereas|while|than|but)\b", re.I)
SENTENCE_END = re.compile(r"[.!?](?:\s+(?=[A-Z0-9*(\[])|\s*$)|\n\s*\n|\n-\s")


@dataclass(frozen=True)
class Number:
    """One number in the text: its value, decimals shown, the tag that labels it (if any) and its sentence."""

    value: float
    decimals: int
    text: str
    start: int
    percent: bool = False
    ratio: bool = False
    tag: tuple[str, str] | None = None
    legacy_tag: tuple[str, str] | None = None
    sentence: str = ""
    unit_after: str = ""

    @property
    def unit(self) -> str:
        """'%', 'ms', 'µs', 'GB', 'TB/s' or '' from the text right after the number (a band in parentheses skipped)."""
        if self.percent:
            return "%"
        m = UNIT_AFTER.match(self.unit_after)
        return {"us": "µs", "μs": "µs"}.get(m.group(1), m.group(1)) if m else ""


@dataclass
class ReportText:
    """A report.md split into its ``##``/``###`` sections (title -> body), in order."""

    markdown: str
    sections: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, markdown: str) -> "ReportText":
        heads = list(HEADING_RE.finditer(markdown))
        sections: dict[str, str] = {}
        for i, h in enumerate(heads):
            end = heads[i + 1].start() if i + 1 < len(heads) else len(markdown)
            # a '##' section runs to the next '##'; its '###' subsections are also kept on their own
            if h.group(1) == "##":
                nxt = next((x.start() for x in heads[i + 1:] if x.group(1) == "##"), len(markdown))
                sections[h.group(2)] = markdown[h.end():nxt]
            else:
                sections[h.group(2)] = markdown[h.end():end]
        return cls(markdown=markdown, sections=sections)

    def section(self, *names: str) -> str | None:
        """The first section whose title starts with one of ``names`` (case-insensitive), or None."""
        for name in names:
            for title, body in self.sections.items():
                if title.lower().startswith(name.lower()):
                    return body
        return None

    def has(self, name: str) -> bool:
        body = self.section(name)
        return body is not None and bool(body.strip())


def _blank(text: str, pattern: re.Pattern) -> str:
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def numbers(text: str) -> list[Number]:
    """Every result-like number in ``text`` with its tag; settings, names, ids and links are skipped."""
    return list(_numbers(text))  # the checks of both reviewers read the same sections again


@lru_cache(maxsize=128)
def _numbers(text: str) -> tuple[Number, ...]:
    tags = [(m.start(), m.end(), (m.group(1), m.group(2).strip())) for m in TAG_RE.finditer(text)]
    clean = _blank(text, TAG_RE)
    for pat in STRIP_RES:
        clean = _blank(clean, pat)
    ends = [m.end() for m in SENTENCE_END.finditer(clean)] + [len(clean)]
    parens = BAND_PAREN.sub(lambda m: " " * len(m.group(0)), clean)  # a band "(95–121)" belongs to the number before it
    found: list[Number] = []
    tag_at: list[int | None] = []
    for m in NUMBER_RE.finditer(clean):
        s, e = m.start(), m.end()
        before, after = clean[max(0, s - 2):s], clean[e:e + 2]
        if (before[-1:].isalnum() or before[-1:] in "._:#@$") or (after[:1].isalpha() and after[:1] not in "x×") \
                or (after[:1] in "." and after[1:2].isalnum()) or (after[:1] == "/" and after[1:2].isdigit()):
            continue
        if before[-1:] == "-" and not before[:1].isdigit() and before[:1] not in " (":
            continue  # Llama-2-70B, top-8
        if SETTING_BEFORE.search(clean[max(0, s - 24):s]) or \
                (m.group(0).isdigit() and SETTING_LIST_BEFORE.search(clean[max(0, s - 40):s])):
            continue
        if ARXIV_ID.fullmatch(m.group(0)):
            continue  # a paper's arXiv id, however it is bracketed or escaped
        raw = m.group(0).replace(",", "")
        try:
            value = float(raw)
        except ValueError:
            continue
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        sent_end = ends[bisect_left(ends, e)]  # ends is sorted and its last entry is len(clean)
        sent_start = ends[k - 1] if (k := bisect_right(ends, s)) else 0
        ts_tag = next(((ts, t) for ts, _te, t in tags if e <= ts < sent_end), None)
        # a tag labels the numbers before it up to a comparison word: "X ms against Y ms [tag]" tags Y only
        # ... and a number inside a parenthetical is not labelled by a tag after the parenthesis closes
        between = parens[e:ts_tag[0]] if ts_tag else ""
        closes = between.count(")") > between.count("(")
        tag = ts_tag[1] if ts_tag and not COMPARISON.search(clean[e:ts_tag[0]]) and not closes else None
        legacy = None
        if tag is None:
            lm = [m2 for m2 in LEGACY_RE.finditer(clean[sent_start:s])]
            legacy = (lm[-1].group(1), lm[-1].group(2)) if lm else None
        ratio = clean[max(0, s - 1):s] in ("×", "x") or after[:1] in "×x"
        found.append(Number(value=value, decimals=decimals, text=raw, start=s, percent=after[:1] == "%", ratio=ratio,
                            tag=tag, legacy_tag=legacy, sentence=text[sent_start:sent_end].strip(), unit_after=clean[e:e + 40]))
        tag_at.append(ts_tag[0] if tag else None)
    # a tag belongs to the last result number before it (and that number's band): "1.99 ms at N=64 and 2.38 ms [tag]" tags 2.38 only
    out = []
    for i, n in enumerate(found):
        later = [m for m in found[i + 1:] if tag_at[i] is not None and m.start < tag_at[i] and parens[m.start].isdigit()]
        out.append(replace(n, tag=None) if later else n)
    return tuple(out)
