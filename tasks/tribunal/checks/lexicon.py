"""The substance checks' lexicon (conf/tribunal/lexicon.yaml), loaded once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
CONF = ROOT / "conf"


@lru_cache(maxsize=8)
def tribunal_data(name: str) -> dict:
    """conf/tribunal/<name>.yaml (word lists and patterns of the checks), loaded once; a missing or broken file names itself."""
    path = CONF / "tribunal" / f"{name}.yaml"
    try:
        return yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RuntimeError(f"cannot read the tribunal data {path}: {exc}; restore conf/tribunal/{name}.yaml") from exc


def lexicon() -> dict:
    return tribunal_data("lexicon")


@lru_cache(maxsize=64)
def conf_yaml(group: str, key: str) -> dict:
    """conf/<group>/<key>.yaml as a dict, {} when there is none."""
    path = CONF / group / f"{key}.yaml"
    try:
        return yaml.safe_load(path.read_text()) or {} if path.is_file() else {}
    except yaml.YAMLError:
        return {}


@lru_cache(maxsize=1)
def gpu_memory_gb() -> dict[str, float]:
    """GPU family (h100, h200, ...) -> memory in GB, from conf/hardware/*.yaml."""
    from tasks.tribunal.bundle import hardware_family

    out: dict[str, float] = {}
    for path in sorted((CONF / "hardware").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        if data.get("memory_bytes"):
            out.setdefault(hardware_family(data.get("name") or path.stem), float(data["memory_bytes"]) / 1e9)
    return out


def has_any(text: str, phrases: list[str]) -> str | None:
    low = text.lower()
    return next((p for p in phrases if p.lower() in low), None)
