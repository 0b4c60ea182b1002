"""Markdown tables of a report section as rows of cells keyed by lower-cased header, and the numbers in a cell.

Used by the checks that compare the report's tables with the evidence bundle (tasks/tribunal/checks/tables.py,
bounds.py). A table is a run of lines starting with ``|``; its second line is the ``|---|`` separator.
"""

from __future__ import annotations

import re

CELL_NUMBER = re.compile(r"[+-−]?\d+(?:\.\d+)?")


def tables(body: str | None) -> list[list[dict[str, str]]]:
    """Every table in ``body``: a list of rows, each header (lower-cased, stripped) -> cell text."""
    out: list[list[dict[str, str]]] = []
    lines = (body or "").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].lstrip().startswith("|") and i + 1 < len(lines) and re.match(r"^\s*\|\s*:?-{2,}", lines[i + 1]):
            head = _cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = _cells(lines[i])
                rows.append({h.lower(): (cells[j] if j < len(cells) else "") for j, h in enumerate(head)})
                i += 1
            out.append(rows)
        else:
            i += 1
    return out


def _cells(line: str) -> list[str]:
    parts = line.strip().strip("|").split("|")
    return [p.strip() for p in parts]


def cell_numbers(cell: str) -> list[float]:
    """The numbers written in a cell ('2.55 (2.55–3.31)' -> [2.55, 2.55, 3.31]; '+5.8%' -> [5.8]); tags are dropped."""
    text = re.sub(r"\[[^\]]*\]", " ", cell or "").replace("−", "-")
    text = re.sub(r"(?<=\d)\s*[–-]\s*(?=\d)", " ", text)  # a range '1.3–1.69' is two numbers, not a negative one
    out = []
    for m in CELL_NUMBER.finditer(text):
        try:
            out.append(float(m.group(0).replace("−", "-")))
        except ValueError:
            continue
    return out


def column(row: dict[str, str], *names: str) -> str | None:
    """The cell of the first header that starts with one of ``names`` (case-insensitive), or None."""
    for name in names:
        for head, cell in row.items():
            if head.startswith(name.lower()):
                return cell
    return None


def close(printed: float, value: float, rel: float = 0.02, decimals_abs: float = 0.051) -> bool:
    """A table cell printed to a few significant digits stands for ``value`` (2% or a rounding step)."""
    return abs(printed - value) <= max(rel * abs(value), decimals_abs)
