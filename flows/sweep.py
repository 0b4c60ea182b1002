"""Sweep stage: expert activation, bytes and step time vs parallel tokens, one MLflow child run per point."""

from __future__ import annotations

import csv
import io
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from flows import engine, tracking
from flows.fit_cache import cached_growth_fits
from flows.progress import StageTimer, console
from flows.safety import atomic_write, live_results_dir
from tasks.experiments.measured import Measurement, RecordedResults, consistent_runs, load_recorded, match_measurement
from tasks.moe.sweep import PointResult, SweepPointSpec, format_table, growth_fits, run_point, summary_table, sweep_points
from tasks.settings import PROJECT_ROOT, Settings, project_path
from tasks.tribunal.build import experts_provenance

log = logging.getLogger("sovereign.sweep")
_MOE_SOURCES = sorted((PROJECT_ROOT / "tasks" / "moe").glob("*.py"))


def _conf_digest(point: SweepPointSpec) -> str:
    """Hash of every file the point's numbers depend on: its specs and the model code."""
    conf = PROJECT_ROOT / "conf"
    files = [conf / "model" / f"{point.model}.yaml", conf / "routing" / f"{point.routing}.yaml", conf / "decoding" / f"{point.decoding}.yaml"]
    files += [conf / "hardware" / f"{h}.yaml" for h in point.hardware] + _MOE_SOURCES
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes() if f.exists() else b"-")
    return h.hexdigest()[:16]


def _point_key(_, params: dict) -> str:
    point: SweepPointSpec = params["point"]
    return "sweep-point-" + hashlib.sha256(json.dumps([repr(point), _conf_digest(point)]).encode()).hexdigest()[:24]


@task(name="sweep-point", cache_key_fn=_point_key, cache_expiration=timedelta(days=30), persist_result=True, task_run_name="{point.label}")
def evaluate_point(point: SweepPointSpec) -> PointResult:
    """Routing statistics, byte/FLOP model and roofline of one point (never raises: failures are records)."""
    return run_point(point)


_GPU_DEVICE_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/dxg", "/dev/kfd")  # CUDA, WSL2, ROCm


def gpu_available() -> bool:
    """A GPU torch can use; without any GPU driver node torch (2-3 s to import) is not even loaded."""
    if not any(Path(node).exists() for node in _GPU_DEVICE_NODES):
        return False
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # noqa: BLE001 - a broken CUDA install means "no GPU"
        return False


def live_measure_argv(settings: Settings, out_file: Path) -> list[str]:
    """The ``python -m tasks.gpu.measure`` arguments that measure this sweep on the present GPU."""
    s = settings.sweep
    return ["--models", *s.models, "--tokens", *map(str, s.tokens), "--engines", s.engine or "grouped_triton",
            "--routing", settings.routing.kind, "--prefix-len", str(s.prefix_len), "--seed", str(settings.run.seed),
            "--out", str(out_file)]


@task(name="measure-gpu", tags=["gpu"], cache_policy=NO_CACHE)
def measure_on_gpu(argv: list[str]) -> str:
    """Measure the sweep live on this machine's GPU; out-of-memory points are recorded as failed inside."""
    from tasks.gpu.measure import main as measure_main

    measure_main(argv)
    return argv[argv.index("--out") + 1]


@dataclass
class SweepPoint:
    """One point as the report sees it: the projection, the matched measurement, and its MLflow child run."""

    projected: PointResult
    measurement: Measurement | None
    run_id: str

    @property
    def source(self) -> str:
        """Class of the point's step time: 'measured:<gpu>' or 'modelled' (roofline); experts are always modelled."""
        return self.measurement.source if self.measurement else "modelled"


@dataclass
class SweepOutcome:
    points: list[SweepPoint]
    fits: list[dict]
    rows: list[dict]
    recorded: RecordedResults
    files: list[Path] = field(default_factory=list)
    runs: dict = field(default_factory=dict)  # (model, routing) -> the one results file its measurements come from

    @property
    def failed(self) -> list[SweepPoint]:
        return [p for p in self.points if p.projected.failed]


def _child_metrics(result: PointResult, measurement: Measurement | None) -> dict[str, float]:
    metrics: dict[str, float] = {}  # a failed point is a FAILED run with a sovereign.error tag, not a 0/1 metric
    if result.failed:
        return metrics
    stats, b = result.stats, result.bytes
    if stats:
        metrics |= {
            "unique_experts_mean": stats["unique_mean"],
            "unique_experts_p10": stats["unique_p10"],
            "unique_experts_p90": stats["unique_p90"],
            "iid_expected_unique": stats["iid_expected_unique"],
            "activated_fraction": stats["activated_fraction"],
            "tokens_per_expert_mean": stats["tokens_per_expert_mean"],
        }
    metrics |= {"bytes_per_step": b["total"], "routed_expert_bytes": b.get("routed_expert", 0.0), "flops_per_step": result.flops, "tokens_per_step": result.tokens_committed}
    for hw, rf in result.roofline.items():
        metrics |= {
            f"roofline_ms_{hw}": rf["time_ms"],
            f"tokens_per_s_{hw}": rf["tokens_per_s"],
        }
    if measurement:
        metrics |= measurement.metrics()
    return metrics


def _log_child(ctx, result: PointResult, measurement: Measurement | None, origin: str = "sweep") -> str:
    """Create (or, on a resumed run, reuse) the point's child run and log it; ``origin`` says who asked for it."""
    name = result.label
    fresh = origin == "sweep" and getattr(ctx, "resumed", True) is False  # a new parent has no such child yet
    run_id = None if fresh else tracking.find_child(ctx.client, ctx.experiment_id, ctx.run_id, name)
    source = measurement.source if measurement else "modelled"
    experts = experts_provenance(result.routing)
    params = {"model": result.model, "routing": result.routing, "N": result.n_tokens, "hardware": ",".join(result.hardware),
              "source": source, "prefix_len": result.prefix_len, "decoding": result.decoding, "steps": result.steps,
              "provenance.step_ms": measurement.source if measurement else "modelled: roofline on datasheet",
              "provenance.unique_experts": experts, "provenance.roofline_ms": "modelled: roofline on datasheet"}
    if measurement:
        params["provenance.h100_projected_from_measured_ms"] = "projected: measured x H200/H100 datasheet bandwidth (4.8/3.35 TB/s)"
        params |= {"engine": measurement.point.engine, "results_file": Path(measurement.results_file).name,
                   "gpu": measurement.provenance.get("gpu_name"), "measured_git_sha": measurement.provenance.get("git_sha")}
    # The roofline's (modelled) utilisation is 1.0 whenever the step is memory-bound: a setting of the model, not a measurement.
    params |= {f"bandwidth_util_modelled_{hw}": round(rf["bandwidth_utilisation_projected"], 4) for hw, rf in result.roofline.items()}
    if result.routing_params.get("fit"):
        params["calibrated_block_logit_scale"] = result.routing_params["fit"]["value"]
    tags = {"sovereign.provenance.step_ms": source.split(":")[0], "sovereign.provenance.unique_experts": experts.split(":")[0]}
    if result.failed:
        tags["sovereign.error"] = result.error
    if run_id is None:  # a new child gets its tags with the run itself: one store transaction fewer per child
        created = {"sovereign.kind": "sweep-point", "sovereign.origin": origin} | tracking.safe_tags(tags)
        run_id = tracking.start_run(ctx.client, ctx.experiment_id, name, parent_id=ctx.run_id, tags=created)
        tags = {}
    tracking.log_record(ctx.client, run_id, params, _child_metrics(result, measurement), tags)
    tracking.end_run(ctx.client, run_id, failed=result.failed)
    return run_id


def _points(settings: Settings) -> list[SweepPointSpec]:
    s = settings.sweep
    params = {settings.routing.kind: settings.routing.params}
    return sweep_points(s.models, s.routings, s.tokens, tuple(s.hardware), s.prefix_len, s.steps, settings.run.seed, s.decoding, params)


def _write_summary(out_dir: Path, rows: list[dict], points: list[SweepPoint], fits: list[dict]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for row, point in zip(rows, points):
        row["source"] = point.source
        row["run_id"] = point.run_id
        if point.measurement:
            row |= {k: round(v, 6) for k, v in point.measurement.metrics().items()}
    columns = list(dict.fromkeys(k for row in rows for k in row))
    summary = out_dir / "sweep_summary.csv"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(summary, buffer.getvalue(), what="sweep summary")
    fits_file = atomic_write(out_dir / "growth_fits.json", json.dumps(fits, indent=1), what="growth fits")
    points = [p.projected.to_dict() | {"source": p.source, "run_id": p.run_id} for p in points]
    points_file = atomic_write(out_dir / "sweep_points.json", json.dumps(points, indent=1, default=str), what="sweep points")
    table = [c for c in columns if c not in ("error", "run_id")]
    table_file = atomic_write(out_dir / "sweep_table.txt", format_table(rows, table) + "\n", what="sweep table")  # every column
    return [summary, fits_file, points_file, table_file]


def run_sweep(ctx, settings: Settings, timer: StageTimer) -> SweepOutcome:
    """Evaluate every sweep point in parallel, join recorded GPU measurements, and log children as they finish."""
    points = _points(settings)
    results_dirs = [project_path(d) for d in settings.sweep.results_dir]
    if settings.sweep.live_gpu and gpu_available():
        out_file = live_results_dir(results_dirs, ctx.out_dir) / "live" / f"{ctx.run_id}.json"
        with timer.stage("gpu-measure", "(live, CUDA present)"):
            try:
                engine.call(measure_on_gpu, live_measure_argv(settings, out_file))
            except Exception as exc:  # noqa: BLE001 - a failed GPU run degrades to recorded results and projections
                console.print(f"[bold red]✗ live GPU measurement failed ({type(exc).__name__}: {exc}); using recorded results and projections[/]")
    recorded = load_recorded(results_dirs)
    for path, reason in recorded.rejected:
        console.print(f"[bold yellow]⚠ recorded GPU results {path} rejected: {reason}. Projections are used and labelled.[/]")
    if not recorded.runs:
        console.print("[yellow]No recorded GPU measurements found: every number in this sweep is a roofline PROJECTION.[/]")
    runs = consistent_runs(recorded, points, settings.sweep.engine)
    done: dict[str, SweepPoint] = {}
    with timer.stage("sweep", f"{len(points)} points") as note:
        futures = engine.map(evaluate_point, points, threads=engine.CPU_THREADS)
        with Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=getattr(console, "rich", console), transient=True) as bar:
            job = bar.add_task("points", total=len(points))
            for future in engine.as_completed(futures):
                result = future.result()
                measurement = None if result.failed else match_measurement(result, recorded, settings.sweep.engine, runs)
                done[result.label] = SweepPoint(result, measurement, _log_child(ctx, result, measurement))
                bar.advance(job)
        ordered = [done[p.label] for p in points if p.label in done]
        rows = summary_table([p.projected for p in ordered])
        fits = cached_growth_fits([p.projected for p in ordered], settings.run.cache_dir)
        files = _write_summary(ctx.out_dir / "sweep", rows, ordered, fits)
        measured = sum(p.measurement is not None for p in ordered)
        note["summary"] = f"{len(ordered)} points ({measured} with GPU measurements, {sum(p.projected.failed for p in ordered)} failed)"
    for p in ordered:
        if p.projected.failed:
            console.print(f"[red]✗ {p.projected.label}: {p.projected.error}[/]")
    return SweepOutcome(ordered, fits, rows, recorded, files, runs)


def refresh_summary(ctx, outcome: SweepOutcome) -> list[Path]:
    """Rewrite the summary files when the tribunal added points after the sweep stage wrote them."""
    if len(outcome.rows) == len(outcome.points):
        return []
    outcome.rows = summary_table([p.projected for p in outcome.points])
    outcome.fits = growth_fits([p.projected for p in outcome.points])
    outcome.files = _write_summary(ctx.out_dir / "sweep", outcome.rows, outcome.points, outcome.fits)
    return outcome.files


def print_sweep_table(outcome: SweepOutcome, settings: Settings) -> None:
    """The flagship table in 100 columns: N vs unique experts and roofline step time vs the dense baseline on the
    question's hardware; every column and hardware is in the parent run's ``sweep/sweep_table.txt``."""
    from rich import box
    from rich.table import Table

    hw = settings.sweep.hardware[0]
    vs = next((k for row in outcome.rows for k in row if k.startswith(f"{hw}_vs_")), None)
    measured = any(p.measurement for p in outcome.points)
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False, show_edge=False, title_justify="left",
                  title=f"sweep on {hw} (full table: MLflow artifact sweep/sweep_table.txt)")
    cols = [("model", "model"), ("routing", "routing"), ("N", "N"), ("source", "source"), ("unique_mean", "experts"),
            ("MB_per_step", "MB/step"), (f"{hw}_ms", "ms")]
    cols += [(vs, "×dense")] if vs else []
    cols += [("measured_step_ms", "H200 ms"), ("measured_util_copy", "util")] if measured else []
    for _, header in cols:
        table.add_column(header, justify="left" if header in ("model", "routing", "source") else "right", no_wrap=True)
    for row in outcome.rows:
        cells = [_cell(row.get(key)) for key, _ in cols]
        cells[3] = cells[3].replace("measured:NVIDIA ", "measured:")
        table.add_row(*cells)
    console.print(table, width=min(100, console.width) if console.is_terminal else 100)  # logs and pipes: 100


def _cell(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def make_add_points(ctx, settings: Settings, outcome: SweepOutcome | None):
    """The tribunal's callback for missing sweep points: evaluate them like the sweep does, log child runs, return rows."""
    if settings.sweep is None or outcome is None:
        return None
    from tasks.tribunal.build import sweep_rows

    s = settings.sweep

    def add_points(requests) -> list:
        specs = [SweepPointSpec(r.model, r.routing, r.n_tokens, tuple(s.hardware), s.prefix_len, s.steps, settings.run.seed, s.decoding,
                                routing_params=tuple(sorted(settings.routing.params.items())) if r.routing == settings.routing.kind else ())
                 for r in requests]
        added = []
        outcome.runs = {**consistent_runs(outcome.recorded, specs, s.engine), **outcome.runs}
        for future in engine.map(evaluate_point, specs, threads=engine.CPU_THREADS):
            result = future.result()
            measurement = None if result.failed else match_measurement(result, outcome.recorded, s.engine, outcome.runs)
            point = SweepPoint(result, measurement, _log_child(ctx, result, measurement, origin="tribunal"))
            outcome.points.append(point)
            added.append(point)
        console.print(f"  tribunal added {len(added)} sweep point(s): {', '.join(p.projected.label for p in added)}")
        return sweep_rows(added)[0]

    return add_points
