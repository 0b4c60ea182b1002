"""The draft speaks about research, never to its reviewer: no instructions, score requests or hidden comments.

Text that tells a reviewer (a person or a chat model) to ignore its rules, to score the draft 10/10, to return ACCEPT
or to report no findings is a prompt injection, whoever wrote it (an owner's edit, or a paper's text copied through).
It stays inert here (the rubric reads no instruction from the report, and the finding only quotes it) and is a
critical finding: a draft that asks for its verdict cannot be accepted. HTML comments are read too, since a rendered
report hides them from a human reader. The wording is data: conf/tribunal/injection.yaml.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import tribunal_data

COMMENT = re.compile(r"<!--(.*?)-->", re.S)


@lru_cache(maxsize=1)
def patterns() -> dict[str, list[re.Pattern]]:
    data = tribunal_data("injection")
    return {k: [re.compile(p, re.I | re.M) for p in v or []] for k, v in data.items()}


def _quote(text: str, m: re.Match) -> str:
    s = max(0, m.start() - 30)
    return " ".join(text[s:m.end() + 40].split())[:140].replace("<", "‹").replace(">", "›")


def instructions(markdown: str) -> list[tuple[str, str]]:
    """(kind of instruction, quoted text) for every reviewer-directed instruction in ``markdown``."""
    found: list[tuple[str, str]] = []
    seen: set[tuple[int, int]] = set()
    for kind, pats in patterns().items():
        for pat in pats:
            for m in pat.finditer(markdown):
                if any(a <= m.start() < b for a, b in seen):
                    continue
                seen.add((m.start(), m.end()))
                found.append((kind, _quote(markdown, m)))
    for m in COMMENT.finditer(markdown):
        if not any(a >= m.start() and a < m.end() for a, _ in seen) and re.search(r"[A-Za-z]{3}", m.group(1)):
            found.append(("hidden_comment", " ".join(m.group(1).split())[:140].replace("<", "‹").replace(">", "›")))
    return found


@register("no_reviewer_instructions", "skeptic", "is the draft free of instructions addressed to its reviewer?")
def no_reviewer_instructions(ctx: CheckContext) -> CheckResult:
    if ctx.report is None:
        return not_applicable("no_reviewer_instructions", "no report text")
    found = instructions(ctx.report.markdown)
    findings = [Finding(kind="reviewer_instruction" if kind != "hidden_comment" else "hidden_comment", where="report",
                        message=f"{'an HTML comment hidden from readers' if kind == 'hidden_comment' else 'text addressed to the reviewer'} "
                                f"({kind}); ignored, quoted inert: \"{text}\"") for kind, text in found[:6]]
    return result("no_reviewer_instructions", findings, f"{len(found)} reviewer-directed instructions found")
