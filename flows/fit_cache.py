"""Growth-law fits of a sweep, kept in the run's cache folder: a re-run with the same points skips the fitting.

The fits depend only on each point's (model, routing, N, unique experts, expert count), in order, and on the fitting
code; that is the key. Fitting the 49-point flagship sweep costs about 0.3 s, a noticeable part of a re-run.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from flows.safety import atomic_write
from tasks.moe.sweep import PointResult, growth_fits
from tasks.settings import PROJECT_ROOT, project_path

log = logging.getLogger("sovereign.sweep")
_FIT_CODE = [PROJECT_ROOT / "tasks" / "moe" / name for name in ("stats.py", "sweep.py")]


def _key(results: list[PointResult]) -> str:
    inputs = [(r.model, r.routing, r.n_tokens, r.unique_mean, r.stats.get("num_experts")) for r in results
              if not r.failed and r.stats]
    h = hashlib.sha256(json.dumps(inputs, default=str).encode())
    for path in _FIT_CODE:
        h.update(path.read_bytes() if path.exists() else b"-")
    return h.hexdigest()[:24]


def cached_growth_fits(results: list[PointResult], cache_dir: str | Path) -> list[dict]:
    """``growth_fits(results)``, read back when the same points were fitted before."""
    path = project_path(cache_dir) / "fits" / f"growth-{_key(results)}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    fits = growth_fits(results)
    try:
        atomic_write(path, json.dumps(fits), what="growth fits cache")
    except OSError as exc:  # an unwritable cache costs the fit next time, never this run
        log.warning("could not cache the growth fits at %s (%s)", path, exc)
    return fits
