"""Sharded measurements (several GPUs of one host, tasks/gpu/measure_parallel.py) as report records.

The sweep joins a sharded run only to models that no single GPU measured (tasks.experiments.measured); this
module lists every sharded point of the asked models and N, whatever the sweep joined, so the report can show
what sharding costs (Llama-2-70B at TP=2, LLaDA2.0-mini at EP=2) beside the one-GPU figures.
"""

from __future__ import annotations

from typing import Iterable

from tasks.gpu.results import gpu_count


def two_gpu_rows(recorded, models: Iterable[str], tokens: Iterable[int]) -> list[dict]:
    """One record per (model, kind, engine, N) from the newest multi-GPU run that has it (``recorded.runs`` is
    ordered by GPU count, then newest first)."""
    models, tokens = set(models), set(tokens)
    seen: dict[tuple, dict] = {}
    for path, run in getattr(recorded, "runs", []) or []:
        if gpu_count(run.provenance) < 2:
            continue
        for p in run.points:
            if p.model not in models or p.n_tokens not in tokens or p.kind not in ("step", "decode") or not p.step_ms:
                continue
            key = (p.model, p.kind, p.engine, p.n_tokens)
            if key in seen:
                continue
            par = (p.engine_info or {}).get("parallel") or {}
            seen[key] = dict(model=p.model, n_tokens=p.n_tokens, kind=p.kind, engine=p.engine, hardware=run.provenance.gpu_name,
                             step_ms=p.step_ms, a2a_share=par.get("a2a_share"), comm_share=par.get("comm_share"),
                             roofline_ratio=p.roofline_ratio or None, results_file=path.name)
    return sorted(seen.values(), key=lambda d: (d["model"], d["kind"] != "decode", d["n_tokens"], d["engine"]))
