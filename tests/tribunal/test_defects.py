"""The defect-injection benchmark on a small clean run (hand-built bundle, written report): detection and no false alarm."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import bundles as B
from reports import report_md

from tasks.tribunal.defects.inject import EXPECTED, INJECTORS

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("tribunal_defects", ROOT / "benchmarks" / "tribunal_defects.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_run(folder: Path, bundle) -> Path:
    (folder / "report").mkdir(parents=True)
    (folder / "tribunal").mkdir()
    (folder / "report" / "report.md").write_text(report_md(bundle))
    (folder / "tribunal" / "bundle.json").write_text(bundle.model_dump_json())
    return folder


def test_every_kind_is_injected_and_detected_with_no_false_alarm(tmp_path):
    assert len(INJECTORS) >= 12 and set(INJECTORS) == set(EXPECTED)
    run = _write_run(tmp_path / "run", B.substantive())
    bench = _bench()
    result = bench.run_benchmark(run, [])
    rows = {r["kind"]: r for r in result["rows"]}
    applicable = [r for r in rows.values() if r["detected"] is not None]
    assert len(applicable) >= 12
    missed = [k for k, r in rows.items() if r["detected"] is False]
    assert not missed, missed
    assert result["clean"][0]["false_alarm"] is False and result["base"]["policy"] == "ACCEPT"
    text = bench.render(result, run)
    assert "| abstract_number_2x |" in text and "Detected" in text


def test_literature_only_run_raises_no_false_alarm(tmp_path):
    lit = B.literature_only(claims=[c.model_copy(update={"disposition": "dropped"}) if c.label == "CONTRADICTED" else c
                                    for c in B.claim_rows(("SUPPORTED", "SUPPORTED", "SUPPORTED"))])
    folder = tmp_path / "lit"
    (folder / "report").mkdir(parents=True)
    (folder / "tribunal").mkdir()
    (folder / "report" / "report.md").write_text("# A literature report\n\n## Abstract\n\nFrom 8 papers we extracted 4 claims.\n")
    (folder / "tribunal" / "bundle.json").write_text(lit.model_dump_json())
    result = _bench().run_benchmark(_write_run(tmp_path / "run", B.substantive()), [folder])
    assert [c["false_alarm"] for c in result["clean"]] == [False, False]


def test_the_clean_flagship_run_detects_every_kind_and_raises_no_false_alarm():
    data = Path(__file__).parent / "data"
    result = _bench().run_benchmark(data / "flagship-run", [data / "literature-run"])
    applicable = [r for r in result["rows"] if r["detected"] is not None]
    assert len(applicable) >= 12
    assert sum(r["detected"] for r in applicable) >= 0.9 * len(applicable), [r["kind"] for r in applicable if not r["detected"]]
    assert [c["false_alarm"] for c in result["clean"]] == [False, False]
