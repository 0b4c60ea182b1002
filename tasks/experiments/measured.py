"""Join projected sweep points with GPU measurements recorded under ``results/``.

Projected numbers come from the roofline model (tasks.moe); measured numbers come
from the GPU harness (tasks.gpu). The two are kept apart and labelled: a point
carries ``source='projected'`` or ``source='measured:<gpu>'``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from tasks.gpu.results import MeasurementRun, PointResult as MeasuredPoint, load_results
from tasks.moe.sweep import DENSE_ROUTING, PointResult

log = logging.getLogger(__name__)

ENGINE_PREFERENCE = ("grouped_triton", "grouped", "deepspeed_v2", "dense", "deepspeed", "loop")  # fastest first


@dataclass
class RecordedResults:
    """Every readable results file, plus the files rejected with their reason."""

    runs: list[tuple[Path, MeasurementRun]] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)


def load_recorded(results_dir: Path) -> RecordedResults:
    """Read every ``*.json`` under ``results_dir``; malformed files are rejected with a message, not fatal."""
    recorded = RecordedResults()
    if not results_dir.is_dir():
        return recorded
    for path in sorted(results_dir.rglob("*.json")):
        if "reports" in path.relative_to(results_dir).parts:
            continue  # results/reports/ holds generated reports (growth_fits.json), not GPU measurements
        try:
            recorded.runs.append((path, load_results(path)))
        except ValueError as exc:
            recorded.rejected.append((path, str(exc)))
            log.debug("ignoring recorded GPU results %s: %s (projections are used instead)", path, exc)
    recorded.runs.sort(key=lambda item: item[1].provenance.date, reverse=True)
    return recorded


@dataclass
class Measurement:
    """The measured numbers matched to one sweep point, with where they came from."""

    source: str
    results_file: str
    point: MeasuredPoint
    provenance: dict

    def metrics(self) -> dict[str, float]:
        p = self.point
        out = {
            "measured_step_ms": p.step_ms,
            "measured_p90_ms": p.p90_ms,
            "measured_spread": p.spread,
            "measured_bandwidth_TBs": p.achieved_bandwidth_bytes_s / 1e12,
            "measured_util_copy": p.util_copy,
            "measured_util_datasheet": p.util_datasheet,
            "measured_roofline_ratio": p.roofline_ratio,
            "measured_peak_memory_GB": p.peak_memory_bytes / 1e9,
        }
        if p.unique_experts_mean is not None:
            out["measured_unique_experts_mean"] = p.unique_experts_mean
        if p.h100_projected_ms is not None:
            out["h100_projected_from_measured_ms"] = p.h100_projected_ms
        return out


def match_measurement(point: PointResult, recorded: RecordedResults, engine: str | None = None) -> Measurement | None:
    """The newest recorded step measurement for this point's (model, routing, N, prefix), best engine first."""
    routing = None if point.routing == DENSE_ROUTING else point.routing
    for path, run in recorded.runs:
        candidates = [p for p in run.find(point.model, routing, point.n_tokens, kind="step") if p.prefix_len == point.prefix_len]
        if engine:
            candidates = [p for p in candidates if p.engine == engine]
        if not candidates:
            continue
        rank = {name: i for i, name in enumerate(ENGINE_PREFERENCE)}
        best = min(candidates, key=lambda p: (rank.get(p.engine, len(rank)), p.step_ms))
        prov = vars(run.provenance).copy()
        return Measurement(source=f"measured:{run.provenance.gpu_name}", results_file=str(path), point=best, provenance=prov)
    return None
