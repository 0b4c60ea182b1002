"""Row 5: N gets an upper bound from a memory estimate, and SIGTERM ends a run promptly, marking it FAILED."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.config import load_settings
from tasks.settings import SettingsError

ROOT = Path(__file__).resolve().parents[2]


def test_huge_n_is_refused_before_any_work():
    started = time.monotonic()
    with pytest.raises(SettingsError, match=r"N=10000000 .* use N <= \d+"):
        load_settings(["+sweep=tokens", "sweep.tokens=[10000000]", "sweep.models=[llada2_mini]"])
    assert time.monotonic() - started < 30


def test_default_sweep_still_fits():
    settings, _ = load_settings(["+sweep=tokens"])
    assert max(settings.sweep.tokens) == 256


def test_bound_follows_the_memory_estimate(monkeypatch):
    import tasks.settings as S

    monkeypatch.setattr(S, "host_available_bytes", lambda: 1 << 26)  # a 64 MiB box refuses N=4096 for llada2_mini
    with pytest.raises(SettingsError, match="N=4096"):
        load_settings(["+sweep=tokens", "sweep.tokens=[4096]", "sweep.models=[llada2_mini]"])


def test_sigterm_unwinds_main_thread_and_exits_despite_busy_worker(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys, threading\n"
        "from flows.signals import terminate_promptly\n"
        "def busy():\n    while True:\n        sum(range(10000))\n"
        "t = threading.Thread(target=busy)\n"  # non-daemon: alone it would keep the process alive forever
        "with terminate_promptly(grace_s=5):\n"
        "    try:\n        t.start(); print('ready', flush=True); t.join()\n"
        f"    finally:\n        open({str(tmp_path / 'marker')!r}, 'w').write('FAILED')\n"
    )
    proc = subprocess.Popen([sys.executable, str(probe)], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 143
        assert time.monotonic() - started < 15
        assert (tmp_path / "marker").read_text() == "FAILED"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_main_runs_research_under_the_sigterm_guard():
    source = (ROOT / "flows" / "main.py").read_text()
    assert "terminate_promptly" in source
