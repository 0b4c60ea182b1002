"""Helpers shared by the three rubric roles: scoring, number formatting, question rows."""

from __future__ import annotations

from tasks.tribunal.bundle import EvidenceBundle, SweepRow
from tasks.tribunal.records import RubricItem


def rubric_score(items: list[RubricItem]) -> float:
    """Score 0-10: 10 x (weight of passed items) / (weight of all items); 10 when there are none."""
    total = sum(i.weight for i in items)
    return round(10.0 * sum(i.weight for i in items if i.passed) / total, 2) if total else 10.0


def num(value: float | None, digits: int = 4) -> str:
    """A number as the report prints it: ``digits`` significant digits, '-' for None."""
    if value is None:
        return "-"
    return f"{value:.{digits}g}"


def run_ref(row: SweepRow) -> str:
    return f"{row.source}, run {row.run_id[:8]}" if row.run_id else row.source


def asked_models_present(bundle: EvidenceBundle) -> list[str]:
    """Question models that have at least one sweep row, in the question's order."""
    present = {r.model for r in bundle.rows()}
    return [m for m in bundle.asked.models if m in present]


def asked_rows(bundle: EvidenceBundle) -> list[SweepRow]:
    """Rows of the question's models and baseline at the question's N."""
    wanted = set(bundle.asked.models) | {bundle.asked.baseline}
    return [r for r in bundle.rows() if r.model in wanted and r.n_tokens in bundle.asked.parallel_tokens]


def moe_rows(bundle: EvidenceBundle) -> list[SweepRow]:
    return [r for r in bundle.rows() if not r.dense]
