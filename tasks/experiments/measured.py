"""Join projected sweep points with GPU measurements recorded under ``results/``.

Projected numbers come from the roofline model (tasks.moe); measured numbers come
from the GPU harness (tasks.gpu). The two are kept apart and labelled: a point
carries ``source='projected'`` or ``source='measured:<gpu>'``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from tasks.gpu.results import MeasurementRun, PointResult as MeasuredPoint, gpu_count, load_results
from tasks.moe.sweep import DENSE_ROUTING, PointResult

log = logging.getLogger(__name__)

ENGINE_PREFERENCE = ("grouped_triton", "grouped", "deepspeed_v2", "dense", "deepspeed", "loop")  # fastest first


@dataclass
class RecordedResults:
    """Every readable results file, plus the files rejected with their reason."""

    runs: list[tuple[Path, MeasurementRun]] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)


def results_folders(patterns: Path | str | Iterable[Path | str]) -> list[Path]:
    """The folders named by ``sweep.results_dir``: each entry a folder or a glob pattern (absolute or resolved
    against the project root); missing folders are dropped, duplicates kept once, order kept."""
    from tasks.settings import project_path

    items = [patterns] if isinstance(patterns, (str, Path)) else list(patterns)
    out: list[Path] = []
    for item in items:
        path = project_path(item)
        if any(ch in str(item) for ch in "*?["):
            anchor = Path(path.anchor)
            found = sorted(p for p in anchor.glob(str(path.relative_to(anchor))) if p.is_dir())
        else:
            found = [path] if path.is_dir() else []
        out += [f for f in found if f not in out]
    return out


def load_recorded(results_dir: Path | str | Iterable[Path | str]) -> RecordedResults:
    """Read every ``*.json`` under the results folder(s); malformed files are rejected with a message, not fatal."""
    recorded = RecordedResults()
    for folder in results_folders(results_dir):
        for path in sorted(folder.rglob("*.json")):
            if "reports" in path.relative_to(folder).parts or any(path == p for p, _ in recorded.runs):
                continue  # results/reports/ holds generated reports (growth_fits.json), not GPU measurements
            try:
                recorded.runs.append((path, load_results(path)))
            except ValueError as exc:
                recorded.rejected.append((path, str(exc)))
                log.debug("ignoring recorded GPU results %s: %s (projections are used instead)", path, exc)
    recorded.runs.sort(key=lambda item: item[1].provenance.date, reverse=True)
    # One-GPU runs first: a sharded run (results/h200x2, gpu_name '2xNVIDIA H200') answers only for models no
    # single GPU was measured on (LLaDA2.0-flash), and its points keep the source 'measured:2xNVIDIA H200'.
    recorded.runs.sort(key=lambda item: gpu_count(item[1].provenance))
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
            # counted by the GPU harness on the synthetic router's routing: modelled, not measured, whatever ran it
            out["harness_unique_experts_mean_modelled"] = p.unique_experts_mean
        if p.h100_projected_ms is not None:
            out["h100_projected_from_measured_ms"] = p.h100_projected_ms
        return out


def _step_candidates(run: MeasurementRun, model: str, routing: str, n_tokens: int, prefix_len: int, engine: str | None):
    routing_key = None if routing == DENSE_ROUTING else routing
    found = [p for p in run.find(model, routing_key, n_tokens, kind="step") if p.prefix_len == prefix_len]
    return [p for p in found if p.engine == engine] if engine else found


def consistent_runs(recorded: RecordedResults, points, engine: str | None = None) -> dict[tuple[str, str], Path]:
    """One results file per (model, routing): among the runs on the fewest GPUs that measured it at all, the one that
    measured most of the sweep's N (newest on a tie). A sharded run (2xH200) answers only for models no single GPU ran.

    Steps of one model compared across N must come from one harness run: mixing a newer, faster harness at some N
    with an older one at others would fake (or hide) the growth with N.
    """
    wanted: dict[tuple[str, str, int], set[int]] = {}
    for p in points:
        wanted.setdefault((p.model, p.routing, p.prefix_len), set()).add(p.n_tokens)
    chosen: dict[tuple[str, str], Path] = {}
    for (model, routing, prefix), ns in wanted.items():
        best, best_key = None, None
        for path, run in recorded.runs:  # fewest GPUs, then newest first: only a better key replaces
            cov = sum(bool(_step_candidates(run, model, routing, n, prefix, engine)) for n in ns)
            key = (gpu_count(run.provenance), -cov)  # a model measured on one GPU keeps its one-GPU file
            if cov and (best_key is None or key < best_key):
                best, best_key = path, key
        if best is not None:
            chosen[(model, routing)] = best
    return chosen


def match_measurement(point: PointResult, recorded: RecordedResults, engine: str | None = None,
                      runs: dict[tuple[str, str], Path] | None = None) -> Measurement | None:
    """The recorded step measurement for this point's (model, routing, N, prefix), best engine first.

    With ``runs`` (from :func:`consistent_runs`) only the file chosen for the point's model and routing is used;
    without it, the newest file that has the point.
    """
    routing = None if point.routing == DENSE_ROUTING else point.routing
    only = (runs or {}).get((point.model, point.routing)) if runs is not None else None
    if runs is not None and only is None:
        return None
    for path, run in recorded.runs:
        if only is not None and path != only:
            continue
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
