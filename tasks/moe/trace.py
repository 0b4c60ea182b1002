"""Read, validate and write expert-routing traces (format: tasks/moe/TRACE_FORMAT.md)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tasks.moe.specs import ModelSpec

TRACE_FORMAT = "sovereign-moe-trace"
TRACE_VERSION = 1
_HEADER_KEYS = {"format": str, "version": int, "model": str, "num_experts": int, "top_k": int, "moe_layers": list}


@dataclass
class Trace:
    """A recorded routing trace: header fields and one (layers, tokens, k) array per step."""

    model: str
    num_experts: int
    top_k: int
    moe_layers: list[int]
    steps: list[np.ndarray]
    step_ids: list[int]
    meta: dict[str, Any] = field(default_factory=dict)

    def check_matches(self, spec: ModelSpec) -> None:
        """Raise ValueError if the trace was not recorded for ``spec``'s shape."""
        problems = []
        if self.model != spec.name:
            problems.append(f"model {self.model!r} != {spec.name!r}")
        if self.num_experts != spec.num_experts:
            problems.append(f"num_experts {self.num_experts} != {spec.num_experts}")
        if self.top_k != spec.top_k:
            problems.append(f"top_k {self.top_k} != {spec.top_k}")
        if list(self.moe_layers) != list(spec.moe_layer_indices):
            problems.append(f"moe_layers {self.moe_layers} != spec {spec.moe_layer_indices}")
        if problems:
            raise ValueError("trace does not match the model spec: " + "; ".join(problems))


class TraceFormatError(ValueError):
    """A malformed trace file; the message names the file, line and problem."""


def _fail(path, line: int, msg: str) -> TraceFormatError:
    return TraceFormatError(f"malformed trace {path} line {line}: {msg} (see tasks/moe/TRACE_FORMAT.md)")


def _parse_header(path, obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise _fail(path, 1, "the header must be a JSON object")
    for key, typ in _HEADER_KEYS.items():
        if key not in obj:
            raise _fail(path, 1, f"header lacks key {key!r}")
        if not isinstance(obj[key], typ) or (typ is int and isinstance(obj[key], bool)):
            raise _fail(path, 1, f"header key {key!r} must be {typ.__name__}, got {obj[key]!r}")
    if obj["format"] != TRACE_FORMAT:
        raise _fail(path, 1, f"format must be {TRACE_FORMAT!r}, got {obj['format']!r}")
    if obj["version"] != TRACE_VERSION:
        raise _fail(path, 1, f"unsupported version {obj['version']} (supported: {TRACE_VERSION})")
    if obj["num_experts"] <= 0 or not 1 <= obj["top_k"] <= obj["num_experts"]:
        raise _fail(path, 1, f"need num_experts > 0 and 1 <= top_k <= num_experts, got "
                             f"{obj['num_experts']}, {obj['top_k']}")
    if not obj["moe_layers"] or not all(isinstance(i, int) and i >= 0 for i in obj["moe_layers"]):
        raise _fail(path, 1, "moe_layers must be a non-empty list of non-negative ints")
    return obj


def _parse_step(path, line: int, obj: Any, header: dict[str, Any]) -> tuple[int, np.ndarray]:
    if not isinstance(obj, dict) or "experts" not in obj or "step" not in obj:
        raise _fail(path, line, "a step line must be an object with keys 'step' and 'experts'")
    if not isinstance(obj["step"], int):
        raise _fail(path, line, f"'step' must be an int, got {obj['step']!r}")
    try:
        arr = np.asarray(obj["experts"])
    except ValueError:
        arr = None
    n_layers, k, e = len(header["moe_layers"]), header["top_k"], header["num_experts"]
    if arr is None or arr.dtype == object or arr.ndim != 3:
        raise _fail(path, line, "'experts' must be a rectangular [layer][token][k] list of ints")
    if arr.shape[0] != n_layers or arr.shape[2] != k or arr.shape[1] == 0:
        raise _fail(path, line, f"'experts' has shape {arr.shape}, expected ({n_layers}, N>0, {k})")
    if not np.issubdtype(arr.dtype, np.integer):
        raise _fail(path, line, f"experts must be ints, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= e:
        raise _fail(path, line, f"expert index out of range [0, {e}): min {arr.min()}, max {arr.max()}")
    srt = np.sort(arr, axis=-1)
    if k > 1 and (srt[..., 1:] == srt[..., :-1]).any():
        layer, token = map(int, np.argwhere((srt[..., 1:] == srt[..., :-1]).any(-1))[0])
        raise _fail(path, line, f"duplicate expert for layer position {layer}, token {token}")
    return obj["step"], arr.astype(np.int32)


def read_trace(path: str | Path) -> Trace:
    """Read and validate a JSONL trace.

    Args:
        path: trace file.
    Returns:
        Trace. Raises TraceFormatError (a ValueError) on any malformed content.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"trace file {path} does not exist (routing.path)")
    header, steps, ids = None, [], []
    with open(path, encoding="utf-8") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise _fail(path, line_no, f"invalid JSON ({exc.msg})") from None
            if header is None:
                header = _parse_header(path, obj)
                continue
            step_id, arr = _parse_step(path, line_no, obj, header)
            if ids and step_id <= ids[-1]:
                raise _fail(path, line_no, f"step {step_id} does not increase (previous {ids[-1]})")
            ids.append(step_id)
            steps.append(arr)
    if header is None:
        raise _fail(path, 1, "empty file: no header")
    if not steps:
        raise _fail(path, 2, "no step lines after the header")
    return Trace(model=header["model"], num_experts=header["num_experts"], top_k=header["top_k"],
                 moe_layers=list(header["moe_layers"]), steps=steps, step_ids=ids, meta=header.get("meta") or {})


def write_trace(path: str | Path, indices: np.ndarray, model: str, num_experts: int, top_k: int,
                moe_layers: list[int], meta: dict[str, Any] | None = None) -> Path:
    """Write indices shaped (steps, layers, tokens, k) as a JSONL trace; returns the path."""
    indices = np.asarray(indices)
    if indices.ndim != 4 or indices.shape[1] != len(moe_layers) or indices.shape[3] != top_k:
        raise ValueError(f"indices shape {indices.shape} must be (steps, {len(moe_layers)}, tokens, {top_k})")
    path = Path(path)
    header = {"format": TRACE_FORMAT, "version": TRACE_VERSION, "model": model, "num_experts": int(num_experts),
              "top_k": int(top_k), "moe_layers": [int(i) for i in moe_layers], "meta": meta or {}}
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(header) + "\n")
        for s, step in enumerate(indices):
            fh.write(json.dumps({"step": s, "experts": step.tolist()}, separators=(",", ":")) + "\n")
    return path
