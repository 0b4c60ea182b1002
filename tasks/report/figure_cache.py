"""The sweep figures, rendered once per distinct input: a re-run whose sweep rows did not change copies its PNGs.

matplotlib costs seconds to import and to render six figures on a busy 2-core machine; a re-run that only changed
the tribunal's settings plots the same rows. The key is everything a figure depends on: the rows, the baseline, the
feasibility rows, the plotting code and the matplotlib version. A miss renders through tasks/report/plots.py
exactly as before and keeps a copy; an unreadable or partial cache entry is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from importlib import metadata
from pathlib import Path

PLOTS_CODE = Path(__file__).with_name("plots.py")
FIGURES = {"unique": "unique_experts_vs_n.png", "step": "step_time_vs_n.png", "bytes": "bytes_per_step_vs_n.png"}


NOT_PLOTTED = {"run_id"}  # a row's MLflow child run differs on every run; no figure shows it (checked in tests)


def _dump(record) -> object:
    return record.model_dump(mode="json", exclude=NOT_PLOTTED) if hasattr(record, "model_dump") else repr(record)


def figures_key(rows, baseline: str | None, feasibility) -> str:
    try:
        version = metadata.version("matplotlib")
    except metadata.PackageNotFoundError:
        version = "?"
    blob = json.dumps([[_dump(r) for r in rows], baseline, [_dump(f) for f in feasibility or []], version,
                       hashlib.sha256(PLOTS_CODE.read_bytes()).hexdigest()], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _copy_all(names: list[str], src: Path, dst: Path) -> list[Path]:
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        tmp = dst / f".{name}.{os.getpid()}.partial"
        shutil.copyfile(src / name, tmp)
        tmp.replace(dst / name)
        out.append(dst / name)
    return out


def sweep_figures(rows, out_dir: str | Path, baseline: str | None = None, feasibility=None,
                  cache_dir: str | Path | None = None) -> list[Path]:
    """tasks.report.plots.sweep_figures, served from ``cache_dir`` when the same figures were rendered before."""
    if cache_dir is None:
        from tasks.report.plots import sweep_figures as render

        return render(rows, out_dir, baseline, feasibility)
    entry = Path(cache_dir) / figures_key(rows, baseline, feasibility)
    try:
        names = json.loads((entry / "figures.json").read_text())
        return _copy_all(names, entry, Path(out_dir))
    except (OSError, ValueError, TypeError):
        pass  # a miss: render below
    from tasks.report.plots import sweep_figures as render

    written = render(rows, out_dir, baseline, feasibility)
    partial = entry.with_name(f".{entry.name}.{os.getpid()}.partial")
    try:  # keep a copy; a cache that cannot be written costs a render next time, never this run
        shutil.rmtree(partial, ignore_errors=True)
        _copy_all([p.name for p in written], Path(out_dir), partial)
        (partial / "figures.json").write_text(json.dumps([p.name for p in written]))
        if not entry.exists():
            partial.rename(entry)
    except OSError:
        pass
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return written
