"""Result records of a GPU measurement run (JSON), with provenance, ceilings, points and failed points.

Derived metrics and their formulas (ceilings measured in the same run, see tasks/gpu/timing.py):
    achieved_bandwidth = bytes_moved / step time
    util_copy          = achieved_bandwidth / measured copy bandwidth
    util_datasheet     = achieved_bandwidth / datasheet HBM bandwidth
    roofline_ms        = max(bytes_moved / copy bandwidth, flops / measured bf16 GEMM rate)
    roofline_ratio     = roofline_ms / measured step time   (1.0 = at the roofline)
    h100_projected_ms  = measured ms * (H200 datasheet bw / H100 datasheet bw)  -- a PROJECTION, not measured
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class Provenance:
    """Where and how the numbers were produced."""

    gpu_name: str
    driver: str
    cuda: str
    torch: str
    date: str
    git_sha: str
    command: str
    python: str = ""
    triton: str = ""
    deepspeed: str = ""
    hostname: str = ""


@dataclass
class Ceilings:
    """Measured and datasheet ceilings of the device."""

    copy_bandwidth_bytes_s: float
    bf16_gemm_flops: float
    datasheet_bandwidth_bytes_s: float
    datasheet_bf16_flops: float
    memory_bytes: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class PointResult:
    """One measured point: a full diffusion step, a per-layer-scaled step, an AR decode token or one MoE layer."""

    kind: str  # 'step' | 'decode' | 'moe_layer'
    model: str
    routing: str
    n_tokens: int
    engine: str
    step_ms: float  # median
    p90_ms: float
    spread: float  # |median(run 1) - median(run 2)| / median(run 1), same variant timed twice
    timing: list[dict[str, Any]]  # TimingStats of both runs
    stack: str  # 'full' (all layers) | 'per_layer_x_L' | 'layer'
    prefix_len: int = 0
    unique_experts_mean: float | None = None  # per MoE layer per step
    unique_experts_p90: float | None = None
    bytes_moved: float = 0.0
    bytes_breakdown: dict[str, float] = field(default_factory=dict)
    byte_model: str = ""
    flops: float = 0.0
    achieved_bandwidth_bytes_s: float = 0.0
    util_copy: float = 0.0
    util_datasheet: float = 0.0
    roofline_ms: float = 0.0
    roofline_ratio: float = 0.0
    h100_projected_ms: float | None = None
    peak_memory_bytes: int = 0
    telemetry: dict[str, Any] = field(default_factory=dict)
    engine_info: dict[str, Any] = field(default_factory=dict)
    notes: str = ""


@dataclass
class FailedPoint:
    """A point that could not be measured, with the reason; the sweep went on."""

    kind: str
    model: str
    routing: str
    n_tokens: int
    engine: str
    reason: str


@dataclass
class MeasurementRun:
    """Everything one GPU run produced."""

    provenance: Provenance
    ceilings: Ceilings
    points: list[PointResult] = field(default_factory=list)
    failed: list[FailedPoint] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)  # equivalence, per-layer-vs-full validation
    schema_version: int = SCHEMA_VERSION

    def find(self, model: str, routing: str | None, n_tokens: int, kind: str = "step",
             engine: str | None = None) -> list[PointResult]:
        """Points matching (model, routing, N, kind[, engine]); routing None matches any (dense models)."""
        return [p for p in self.points if p.model == model and p.n_tokens == n_tokens and p.kind == kind
                and (routing is None or p.routing in (routing, "none"))
                and (engine is None or p.engine == engine)]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _sha_or_unknown(value: str | None) -> str:
    value = (value or "").strip()
    return value if re.fullmatch(r"[0-9a-f]{7,40}", value) else "unknown"


def git_sha(explicit: str | None = None) -> str:
    """The git sha: explicit value, else $SOVEREIGN_GIT_SHA, else `git rev-parse HEAD`; 'unknown' unless it is hex.

    (A device copy of the tree has no commits: `git rev-parse HEAD` then prints 'HEAD' and fails.)
    """
    if explicit or os.environ.get("SOVEREIGN_GIT_SHA"):
        return _sha_or_unknown(explicit or os.environ["SOVEREIGN_GIT_SHA"])
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return _sha_or_unknown(out.stdout) if out.returncode == 0 else "unknown"


def collect_provenance(command: str, sha: str | None = None) -> Provenance:
    """Versions of everything that shapes the numbers, read from the running process."""
    import torch
    from tasks.gpu.timing import nvml_driver_version
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    versions = {}
    for mod in ("triton", "deepspeed"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - absent or broken optional package
            versions[mod] = "absent"
    return Provenance(gpu_name=gpu, driver=nvml_driver_version(), cuda=str(torch.version.cuda), torch=torch.__version__,
                      date=_now(), git_sha=git_sha(sha), command=command, python=sys.version.split()[0],
                      triton=versions["triton"], deepspeed=versions["deepspeed"], hostname=platform.node())


def save_results(run: MeasurementRun, path: str | Path) -> Path:
    """Write the run as indented JSON (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(asdict(run), indent=1, sort_keys=False, default=_json_default))
    tmp.replace(path)
    return path


def _json_default(o):
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def _build(cls, d: Any, where: str):
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected an object for {cls.__name__}, got {type(d).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    required = {f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    missing = sorted(required - set(d))
    if missing:
        raise ValueError(f"{where}: {cls.__name__} is missing field(s) {missing}")
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"{where}: {cls.__name__} has unknown field(s) {unknown}")
    return cls(**d)


def results_from_dict(d: Any, source: str = "<dict>") -> MeasurementRun:
    """Rebuild a MeasurementRun from parsed JSON; malformed content raises ValueError naming the problem."""
    if not isinstance(d, dict):
        raise ValueError(f"{source}: results must be a JSON object, got {type(d).__name__}")
    version = d.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"{source}: schema_version {version!r} not supported (expected {SCHEMA_VERSION})")
    for key in ("provenance", "ceilings"):
        if key not in d:
            raise ValueError(f"{source}: missing '{key}'")
    for key in ("points", "failed", "checks"):
        if not isinstance(d.get(key, []), list):
            raise ValueError(f"{source}: '{key}' must be a list")
    return MeasurementRun(
        provenance=_build(Provenance, d["provenance"], f"{source}: provenance"),
        ceilings=_build(Ceilings, d["ceilings"], f"{source}: ceilings"),
        points=[_build(PointResult, p, f"{source}: points[{i}]") for i, p in enumerate(d.get("points", []))],
        failed=[_build(FailedPoint, p, f"{source}: failed[{i}]") for i, p in enumerate(d.get("failed", []))],
        checks=list(d.get("checks", [])),
        schema_version=version,
    )


def load_results(path: str | Path) -> MeasurementRun:
    """Read a results JSON written by save_results.

    Args:
        path: the JSON file.
    Returns:
        The MeasurementRun; raises ValueError if the file is missing, not JSON, or not in this schema.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read GPU results {path}: {exc}") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"GPU results {path} is not valid JSON: {exc}") from None
    return results_from_dict(d, str(path))


def gpus_in_name(gpu_name: str | None) -> int:
    """GPUs a measurement ran on: N for a '<N>x<name>' GPU name (tasks/gpu/measure_parallel.py), else 1."""
    m = re.match(r"(\d+)x", gpu_name or "")
    return int(m.group(1)) if m else 1


def gpu_count(provenance: Provenance) -> int:
    """GPUs the run's points ran on (gpus_in_name of its provenance)."""
    return gpus_in_name(provenance.gpu_name)


def find_recorded(results_dir: str | Path, model: str, routing: str | None, n_tokens: int, kind: str = "step",
                  engine: str | None = None) -> list[tuple[Provenance, PointResult]]:
    """All recorded points under results_dir (recursively, *.json) matching (model, routing, N, kind[, engine]).

    Files that are not GPU results are skipped; the newest run comes first.
    """
    found = []
    for path in sorted(Path(results_dir).rglob("*.json")):
        try:
            run = load_results(path)
        except ValueError:
            continue
        found.extend((run.provenance, p) for p in run.find(model, routing, n_tokens, kind, engine))
    found.sort(key=lambda t: t[0].date, reverse=True)
    return found
