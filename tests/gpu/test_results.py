"""Results schema: round trip, clear errors on malformed files, lookup by (model, routing, N)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from tasks.gpu.results import (Ceilings, FailedPoint, MeasurementRun, PointResult, Provenance, find_recorded,
                               load_results, save_results)

RESULTS_DIR = Path(__file__).resolve().parents[2] / "results"


def _run() -> MeasurementRun:
    prov = Provenance(gpu_name="NVIDIA H200", driver="580.159.04", cuda="13.0", torch="2.11.0", date="2026-11-29T00:00:00+00:00",
                      git_sha="abc123", command="python -m tasks.gpu.measure --models llada2_mini --out x.json")
    ceil = Ceilings(4.3e12, 7.9e14, 4.8e12, 9.89e14, 1.5e11, {"copy_formula": "2 * bytes / t"})
    pt = PointResult(kind="step", model="llada2_mini", routing="calibrated", n_tokens=64, engine="grouped_triton",
                     step_ms=6.5, p90_ms=6.6, spread=0.01, timing=[{"median_ms": 6.5}], stack="full",
                     unique_experts_mean=93.0, bytes_moved=1.2e10, bytes_breakdown={"routed_expert": 1.1e10})
    fail = FailedPoint("step", "llada2_mini", "calibrated", 65536, "grouped_triton", "out of memory: ...")
    return MeasurementRun(prov, ceil, [pt], [fail], [{"check": "x", "passed": True}])


def test_round_trip(tmp_path):
    run = _run()
    path = save_results(run, tmp_path / "h200" / "run.json")
    back = load_results(path)
    assert asdict(back) == asdict(run)
    assert back.find("llada2_mini", "calibrated", 64)[0].step_ms == 6.5
    assert back.find("llada2_mini", "iid", 64) == []


@pytest.mark.parametrize("content,match", [
    ("{not json", "not valid JSON"),
    ("[]", "must be a JSON object"),
    ('{"schema_version": 99}', "schema_version 99"),
    ('{"schema_version": 1, "ceilings": {}}', "missing 'provenance'"),
])
def test_malformed_files_raise_value_error(tmp_path, content, match):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(ValueError, match=match):
        load_results(p)


def test_missing_and_unknown_fields_are_named(tmp_path):
    d = asdict(_run())
    del d["points"][0]["step_ms"]
    (tmp_path / "a.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"points\[0\].*step_ms"):
        load_results(tmp_path / "a.json")
    d = asdict(_run())
    d["ceilings"]["bogus"] = 1
    (tmp_path / "b.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match="unknown field.*bogus"):
        load_results(tmp_path / "b.json")
    with pytest.raises(ValueError, match="cannot read"):
        load_results(tmp_path / "absent.json")


def test_find_recorded_skips_foreign_json(tmp_path):
    save_results(_run(), tmp_path / "run.json")
    (tmp_path / "other.json").write_text('{"hello": 1}')
    found = find_recorded(tmp_path, "llada2_mini", "calibrated", 64)
    assert len(found) == 1 and found[0][0].gpu_name == "NVIDIA H200"


def test_committed_h200_results_load_and_cover_the_flagship():
    files = sorted((RESULTS_DIR / "h200").glob("*.json")) if (RESULTS_DIR / "h200").is_dir() else []
    if not files:
        pytest.skip("no recorded H200 results committed yet")
    for f in files:
        load_results(f)
    for model, routing in (("llada2_mini", "calibrated"), ("llada_moe_7b", "calibrated"), ("llama2_70b", None)):
        for n in (64, 128):
            assert find_recorded(RESULTS_DIR / "h200", model, routing, n), (model, n)
