"""One harness run per model: steps compared across N never mix an old and a new results file (issue 12 review)."""

from pathlib import Path
from types import SimpleNamespace

from tasks.experiments.measured import RecordedResults, consistent_runs, match_measurement
from tasks.moe.sweep import PointResult


def _run(ns, ms, date):
    pts = [SimpleNamespace(model="llada2_mini", routing="calibrated", n_tokens=n, kind="step", prefix_len=512,
                           engine="grouped_triton", step_ms=ms) for n in ns]
    find = lambda model, routing, n, kind: [p for p in pts if (p.model, p.routing, p.n_tokens, p.kind) == (model, routing, n, kind)]
    return SimpleNamespace(find=find, provenance=SimpleNamespace(gpu_name="NVIDIA H200", date=date))


def _point(n):
    return PointResult(model="llada2_mini", routing="calibrated", n_tokens=n, prefix_len=512, steps=4, seed=0,
                       decoding="llada2_block32_t095", hardware=["h200"])


def test_the_run_covering_most_of_the_sweep_wins_and_is_used_alone():
    old, new = Path("old.json"), Path("new.json")
    recorded = RecordedResults(runs=[(new, _run([1, 64], 4.0, "2026-11-30")), (old, _run([1, 64, 128], 5.0, "2026-11-29"))])
    points = [_point(n) for n in (1, 64, 128)]
    runs = consistent_runs(recorded, points)
    assert runs == {("llada2_mini", "calibrated"): old}
    got = {p.n_tokens: match_measurement(p, recorded, runs=runs) for p in points}
    assert {m.results_file for m in got.values()} == {"old.json"} and got[64].point.step_ms == 5.0
    assert match_measurement(_point(64), recorded).results_file == "new.json"  # without the choice: newest has it


def test_newest_wins_a_tie():
    old, new = Path("old.json"), Path("new.json")
    recorded = RecordedResults(runs=[(new, _run([64, 128], 4.0, "2026-11-30")), (old, _run([64, 128], 5.0, "2026-11-29"))])
    assert consistent_runs(recorded, [_point(64), _point(128)]) == {("llada2_mini", "calibrated"): new}
