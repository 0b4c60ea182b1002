"""The independent defect probes replay at the design's score: no detection lost, no benign edit escalated.

These edits were seen while the checks were written (probe 2 for round 1, probe 3 for rounds 2 and 3), so this is a
regression test, not a measure of what the tribunal catches on new defects (tests/tribunal/INDEPENDENT_DEFECTS.md has
the first scores).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("tribunal_probe", ROOT / "benchmarks" / "tribunal_probe.py")
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)


@pytest.mark.parametrize("name, at_least", [("defect-probe-2", 20), ("defect-probe-3", 23), ("defect-probe-4", 21), ("defect-probe-5", 23), ("defect-probe-6", 24), ("defect-probe-7", 23), ("defect-probe-8", 18)])
def test_probe_replays_without_loss(name, at_least):
    res = probe.replay(Path(__file__).parent / "data" / name)
    hit, n, false_alarms, _benign = probe.summary(res)
    assert all(policy == "ACCEPT" for policy, _agg in res["bases"].values())
    assert false_alarms == 0
    assert hit >= at_least, [r["id"] for r in res["rows"] if not r["flagged"] and not r["benign"]]
