"""The draft's own prose, sentence by sentence: what the wording checks read.

Quoted text (a paper's words in quotation marks), block quotes (the question), table rows and the bullet list of
references are not the draft's own statements and are left out. A sentence that cites a paper (an arXiv id or a link) reports that
paper; ``cited=False`` leaves those out too, for checks that judge what the
draft itself concludes.
"""

from __future__ import annotations

import re

from tasks.tribunal.checks.report_text import ReportText

CONCLUDING = ("Abstract", "Introduction", "Discussion", "Conclusion")
QUOTED = re.compile(r'"[^"\n]{3,}"|“[^”\n]{3,}”')
CITES = re.compile(r"\d{4}\.\d{4,5}|\]\(https?://", re.I)
SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9*(\[])|\n\s*\n|\n(?=\s*[-*]\s)")
NEGATED = re.compile(r"\b(?:not|no|never|cannot|can't|without|nor|neither|n't)\b(?:\W+\w+){0,3}\W*$", re.I)


def sentences(report: ReportText | None, sections: tuple[str, ...] = CONCLUDING, cited: bool = True) -> list[tuple[str, str]]:
    """(section, sentence) for the draft's own sentences in ``sections``, quotes blanked."""
    if report is None:
        return []
    out = []
    for name in sections:
        body = report.section(name) or ""
        lines = [ln for ln in body.splitlines() if not ln.lstrip().startswith((">", "|", "#"))]
        text = QUOTED.sub('""', "\n".join(lines))
        for s in SPLIT.split(text):
            s = " ".join(s.split())
            if len(s) < 12 or (not cited and CITES.search(s)):
                continue
            out.append((name, s))
    return out


def negated_before(sentence: str, start: int) -> bool:
    """Is the phrase at ``start`` negated by a word just before it ('does not prove', 'cannot be ignored')?"""
    return bool(NEGATED.search(sentence[:start]))


def phrase_patterns(phrases: list[str]) -> list[re.Pattern]:
    """Lexicon phrases as word-bounded, case-insensitive patterns (a phrase may itself be a regex)."""
    return [re.compile(r"(?<![\w-])" + p + r"(?![\w-])", re.I) for p in phrases]
