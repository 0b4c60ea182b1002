"""Sweep figures as PNG (matplotlib Agg): unique experts, step time and bytes per step vs parallel tokens N.

Every series' legend carries the provenance tag of the quantity it plots (tasks/provenance.py): unique experts and
bytes are ``modelled`` (routing and byte model, also at points whose step time is measured); step times are
``measured`` on a named GPU or ``modelled`` (roofline on a datasheet).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tasks.tribunal.bundle import SweepRow  # noqa: E402

from tasks.report.figure_cache import FIGURES  # noqa: E402  (file names, importable without matplotlib)


def _origin(row: SweepRow) -> str:
    return row.step_provenance.tag()


def _series(rows: list[SweepRow], key) -> dict[tuple, list[SweepRow]]:
    out: dict[tuple, dict[int, SweepRow]] = {}
    for r in rows:
        if not r.failed:
            out.setdefault(key(r), {}).setdefault(r.n_tokens, r)
    return {k: sorted(v.values(), key=lambda r: r.n_tokens) for k, v in out.items()}


def _finish(ax, title: str, ylabel: str, path: Path) -> Path:
    ax.set_xscale("log", base=2)
    ax.set_xlabel("parallel tokens per step N")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig = ax.figure
    fig.set_size_inches(10, 4.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_unique_experts(rows: list[SweepRow], path: Path) -> Path:
    """Unique experts per MoE layer per step vs N, per model and routing, with the i.i.d. closed form beside each model."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    moe = [r for r in rows if not r.dense and r.unique_experts_mean is not None and not r.measured]
    closed_done = set()
    for (model, routing), series in sorted(_series(moe, lambda r: (r.model, r.routing)).items()):
        ns = [r.n_tokens for r in series]
        ax.plot(ns, [r.unique_experts_mean for r in series], marker="o",
                label=f"{model} · {routing} {series[0].experts_prov.tag()}")
        first = series[0]
        if model not in closed_done and first.num_experts and first.top_k:
            grid = np.geomspace(1, max(ns), 64)
            e, k = first.num_experts, first.top_k
            ax.plot(grid, e * (1 - (1 - k / e) ** grid), ls="--", lw=1, color="grey")
            ax.annotate(f"{model} i.i.d. E(1-(1-k/E)^N), E={e}, k={k}", (grid[-1], e * (1 - (1 - k / e) ** grid[-1])),
                        fontsize=6, ha="right", va="bottom", color="grey")
            closed_done.add(model)
    return _finish(ax, "Unique experts per MoE layer per step vs N (dashed: i.i.d. closed form)", "unique experts", path)


def _fit_note(model: str, hw: str, feasibility) -> str:
    f = next((f for f in feasibility or [] if f.model == model and f.hardware == hw), None)
    return f" — does not fit one GPU, needs {f.gpus_needed}" if f is not None and not f.fits else ""


def plot_step_time(rows: list[SweepRow], path: Path, baseline: str | None = None, feasibility=None) -> Path:
    """Step time vs N per model and hardware; the dense baseline in black; one-GPU rows of models that do not fit say so."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    timed = [r for r in rows if r.step_ms is not None]
    routing_of = {}
    for r in timed:  # one routing per MoE model: the most realistic present
        if not r.dense:
            order = ("iid", "zipf", "calibrated", "trace")
            cur = routing_of.get(r.model)
            if cur is None or (r.routing in order and (cur not in order or order.index(r.routing) > order.index(cur))):
                routing_of[r.model] = r.routing
    timed = [r for r in timed if r.dense or r.routing == routing_of.get(r.model)]
    greys = iter(["black", "dimgray", "darkgray", "silver"])
    for (model, hw, source), series in sorted(_series(timed, lambda r: (r.model, r.hardware, r.source)).items()):
        is_base = model == baseline
        ax.plot([r.n_tokens for r in series], [r.step_ms for r in series], marker="s" if is_base else "o",
                color=next(greys, "grey") if is_base else None, ls="-" if series[0].measured else "--",
                label=f"{model}{'' if is_base else ' · ' + series[0].routing} on {hw} {_origin(series[0])}{_fit_note(model, hw, feasibility)}")
    ax.set_yscale("log")
    return _finish(ax, "Step time vs N (dashed: modelled roofline; solid: measured)", "ms per step", path)


def plot_bytes(rows: list[SweepRow], path: Path) -> Path:
    """Bytes moved per step vs N per model (the byte model: modelled)."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    withbytes = [r for r in rows if r.bytes_per_step and not r.measured]
    for (model, routing), series in sorted(_series(withbytes, lambda r: (r.model, r.routing)).items()):
        ax.plot([r.n_tokens for r in series], [r.bytes_per_step / 1e9 for r in series], marker="o",
                label=f"{model} · {routing} [modelled: byte model, {routing} routing]")
    ax.set_yscale("log")
    return _finish(ax, "Bytes moved per step vs N", "GB per step", path)


def sweep_figures(rows: list[SweepRow], out_dir: str | Path, baseline: str | None = None, feasibility=None) -> list[Path]:
    """Write the three sweep PNGs into ``out_dir``; returns their paths (the flow logs them to the parent run)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not [r for r in rows if not r.failed]:
        return []
    return [plot_unique_experts(rows, out / FIGURES["unique"]), plot_step_time(rows, out / FIGURES["step"], baseline, feasibility),
            plot_bytes(rows, out / FIGURES["bytes"])]
