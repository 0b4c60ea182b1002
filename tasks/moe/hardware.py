"""Hardware ceilings (bandwidth, bf16 FLOP/s, memory) from conf/hardware/*.yaml or a measured calibration."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


from tasks.moe.specs import DEFAULT_CONF_DIR
from tasks.moe.yaml_files import read_yaml

CALIBRATION_KEYS = ("copy_bandwidth_bytes_s", "bf16_gemm_flops")


@dataclass(frozen=True)
class HardwareSpec:
    """Roofline ceilings of one device."""

    name: str
    display_name: str
    hbm_bandwidth_bytes_s: float
    bf16_flops: float
    memory_bytes: float
    source: str
    measured: bool

    def __post_init__(self) -> None:
        for f in ("hbm_bandwidth_bytes_s", "bf16_flops", "memory_bytes"):
            v = getattr(self, f)
            if not isinstance(v, (int, float)) or not v > 0:
                raise ValueError(f"hardware '{self.name}': field '{f}' must be a positive number, got {v!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hw_dir(conf_dir: Path | None) -> Path:
    return Path(conf_dir or DEFAULT_CONF_DIR) / "hardware"


def list_hardware(conf_dir: Path | None = None) -> list[str]:
    """Names of the hardware specs in conf/hardware/."""
    return sorted(p.stem for p in _hw_dir(conf_dir).glob("*.yaml"))


def _read_calibration(calibration: dict | str | Path) -> dict[str, Any]:
    if isinstance(calibration, (str, Path)):
        try:
            return json.loads(Path(calibration).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read hardware calibration JSON {calibration}: {exc}") from None
    if not isinstance(calibration, dict):
        raise ValueError(f"calibration must be a dict or a JSON path, got {type(calibration).__name__}")
    return calibration


def hardware_from_calibration(calibration: dict | str | Path) -> HardwareSpec:
    """Build the 'measured' HardwareSpec from calibration ceilings.

    Args:
        calibration: dict or JSON path with copy_bandwidth_bytes_s and bf16_gemm_flops
            (optionally memory_bytes, gpu_name, and a nested 'ceilings' dict holding them).
    Returns:
        HardwareSpec with measured=True.
    """
    cal = _read_calibration(calibration)
    if isinstance(cal.get("ceilings"), dict):
        cal = {**cal, **cal["ceilings"]}
    missing = [k for k in CALIBRATION_KEYS if k not in cal]
    if missing:
        raise ValueError(f"hardware 'measured' needs calibration keys {list(CALIBRATION_KEYS)}; missing {missing}. "
                         "Run the GPU calibration step (issue 4 harness) or choose hardware h100_sxm/h200/cpu.")
    gpu = str(cal.get("gpu_name", "present GPU"))
    return HardwareSpec(
        name="measured",
        display_name=f"{gpu} (measured)",
        hbm_bandwidth_bytes_s=float(cal["copy_bandwidth_bytes_s"]),
        bf16_flops=float(cal["bf16_gemm_flops"]),
        memory_bytes=float(cal.get("memory_bytes", 141e9)),
        source=str(cal.get("source", f"measured ceilings on {gpu}: copy bandwidth, bf16 GEMM")),
        measured=True,
    )


def load_hardware(name: str, conf_dir: Path | None = None,
                  calibration: dict | str | Path | None = None) -> HardwareSpec:
    """Load conf/hardware/<name>.yaml; 'measured' takes its ceilings from ``calibration``.

    Args:
        name: h100_sxm, h200, cpu or measured.
        conf_dir: the conf/ directory; default is the repository's conf/.
        calibration: required for 'measured': dict or JSON path (see hardware_from_calibration).
    Returns:
        HardwareSpec.
    """
    path = _hw_dir(conf_dir) / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown hardware {name!r} (config key `hardware` / `sweep.hardware`); "
                         f"available: {', '.join(list_hardware(conf_dir))}")
    d = read_yaml(path) or {}
    if not isinstance(d, dict):
        raise ValueError(f"{path}: a hardware spec is a YAML mapping of fields, got {type(d).__name__}")
    if d.get("measured"):
        if calibration is None:
            raise ValueError("hardware 'measured' needs a calibration (dict or JSON path with "
                             f"{list(CALIBRATION_KEYS)}) from the GPU calibration step; none was given")
        return hardware_from_calibration(calibration)
    fields = ("name", "display_name", "hbm_bandwidth_bytes_s", "bf16_flops", "memory_bytes", "source")
    missing = [f for f in fields if f not in d]
    if missing:
        raise ValueError(f"hardware '{name}' ({path}): missing field(s) {missing}")
    kwargs = {f: d[f] for f in fields}
    for f in ("hbm_bandwidth_bytes_s", "bf16_flops", "memory_bytes"):
        try:  # YAML 1.1 reads '3.35e12' (no exponent sign) as a string
            kwargs[f] = float(kwargs[f])
        except (TypeError, ValueError):
            raise ValueError(f"hardware '{name}': field '{f}' must be a number, got {kwargs[f]!r}") from None
    return HardwareSpec(**kwargs, measured=False)
