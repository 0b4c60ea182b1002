"""Validate the routing model against published unique-expert counts (conf/validation/unique_experts.yaml).

Each published point (model, block size B, per-benchmark values, citation) is compared with the routing
model's mean unique experts per MoE layer when B tokens are routed together (what one block-diffusion forward
routes with a KV cache). Points marked ``fit: true`` were used to fit the model; the rest are out of sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tasks.moe.routing import make_router
from tasks.moe.specs import DEFAULT_CONF_DIR, load_model_spec
from tasks.moe.stats import expert_stats

DEFAULT_FILE = "validation/unique_experts.yaml"


@dataclass(frozen=True)
class PublishedPoint:
    model: str
    block: int
    values: dict[str, float]
    citation: str
    fit: bool

    @property
    def mean(self) -> float:
        return sum(self.values.values()) / len(self.values)


@dataclass(frozen=True)
class ValidationPoint:
    published: PublishedPoint
    modelled: float

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.modelled - self.published.mean) / self.published.mean


def load_published(path: Path | None = None, conf_dir: Path | None = None) -> list[PublishedPoint]:
    """The published points; a malformed file is a ValueError naming the file and the field."""
    path = Path(path) if path else Path(conf_dir or DEFAULT_CONF_DIR) / DEFAULT_FILE
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read published validation points {path}: {exc}") from None
    default_cite = data.get("citation")
    out = []
    for i, p in enumerate(data.get("points") or []):
        try:
            values = {str(k): float(v) for k, v in (p["values"] or {}).items()}
            cite = str(p.get("citation") or default_cite)
            if not values or not cite or cite == "None":
                raise ValueError("needs values and a citation")
            out.append(PublishedPoint(str(p["model"]), int(p["block"]), values, cite, bool(p.get("fit", False))))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: point {i} is malformed ({exc}); each point needs model, block, values, citation") from None
    return out


def load_reference(path: Path | None = None, conf_dir: Path | None = None) -> str | None:
    """The file's ``reference`` line (the paper the published points come from), or None."""
    path = Path(path) if path else Path(conf_dir or DEFAULT_CONF_DIR) / DEFAULT_FILE
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    return str(data["reference"]) if isinstance(data, dict) and data.get("reference") else None


def modelled_unique(model: str, block: int, routing: str = "calibrated", routing_params: dict | None = None,
                    steps: int = 16, seed: int = 0, conf_dir: Path | None = None) -> float:
    """The routing model's mean unique experts per MoE layer when ``block`` tokens are routed together."""
    spec = load_model_spec(model, conf_dir)
    params = dict(routing_params or {})
    if routing == "calibrated":
        params.setdefault("conf_dir", conf_dir)
    router = make_router(routing, spec, **params)
    return expert_stats(router.route(block, steps, seed), spec.num_experts).unique_mean


def validate(points: list[PublishedPoint], routing: str = "calibrated", routing_params: dict | None = None,
             steps: int = 16, seed: int = 0, conf_dir: Path | None = None) -> list[ValidationPoint]:
    return [ValidationPoint(p, modelled_unique(p.model, p.block, routing, routing_params, steps, seed, conf_dir))
            for p in points]
