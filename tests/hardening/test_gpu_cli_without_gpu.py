"""Row 1: the GPU CLI without a GPU refuses, and --device cpu refuses a model that does not fit, before allocating.

Every run here is a subprocess under ``ulimit -v`` (4 GB of address space), so that a regression cannot take the
machine down: it would die of MemoryError inside its cap instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CAP_KB = 4_000_000


def _capped(tmp_path, *args: str) -> tuple[int, str, float]:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(ROOT))
    cmd = f"ulimit -v {CAP_KB}; exec {sys.executable} -m tasks.gpu.measure " + " ".join(args)
    started = time.monotonic()
    done = subprocess.run(["bash", "-c", cmd], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def test_no_cuda_is_refused_with_a_message(tmp_path):
    rc, out, _ = _capped(tmp_path, "--models llada2_mini --tokens 64 --out", str(tmp_path / "x.json"))
    assert rc != 0 and "no CUDA GPU is visible" in out and "--device cpu" in out


def test_cpu_refuses_a_model_that_does_not_fit_before_allocating(tmp_path):
    rc, out, seconds = _capped(tmp_path, "--device cpu --models llada2_mini --tokens 64 --out", str(tmp_path / "x.json"))
    assert rc != 0 and "estimated before allocating" in out and "MemoryError" not in out
    assert seconds < 120


def test_fits_full_on_cpu_is_not_always_true(monkeypatch):
    from tasks.gpu import measure
    from tasks.moe.specs import load_model_spec

    monkeypatch.setattr(measure, "cpu_free_bytes", lambda: 8 << 30)
    assert not measure.fits_full(load_model_spec("llada2_mini"), 512, 64, "cpu", None)
