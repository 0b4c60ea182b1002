"""Timing a sharded step on every rank: CUDA events around graph replays (eager where capture fails), and the
step's collectives replayed alone to time the communication.

A CUDA graph is captured on every rank only when all ranks captured: a rank whose capture failed makes all
ranks time eager launches (the reason is kept). The step time of a point is the slowest rank's median.
"""
from __future__ import annotations

import time

import torch

from tasks.gpu.parallel.comm import Comm
from tasks.gpu.timing import TimingStats, summarize


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _agree(comm: Comm, ok: bool) -> bool:
    """True when ok on every rank (a tiny all-reduce of flags, outside any graph)."""
    flag = torch.tensor([1 if ok else 0], device=_device(), dtype=torch.int32)
    if comm.world_size > 1:
        import torch.distributed as dist
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def time_on_ranks(run, load, n_inputs: int, comm: Comm, reps: int = 20, warmup: int = 2, use_graph: bool = True,
                  on_loaded=None) -> tuple[TimingStats, str]:
    """Time run(i) (input set i copied in by load(i), outside the timed region) on this rank.

    Returns this rank's TimingStats and how it was timed ('cuda_graph' or 'eager: <reason>'; on CPU wall clock).
    """
    if _device() == "cpu":
        times = []
        for r in range(warmup * n_inputs + reps):
            load(r % n_inputs)
            t0 = time.perf_counter()
            run(r % n_inputs)
            times.append((time.perf_counter() - t0) * 1e3)
        if on_loaded is not None:
            on_loaded()
        return summarize(times[warmup * n_inputs:], False, n_inputs), "eager: cpu wall clock"
    for _ in range(warmup):
        for i in range(n_inputs):
            load(i)
            run(i)
    torch.cuda.synchronize()
    graph, how = None, "eager: graph capture not asked for"
    if use_graph:
        try:
            g = torch.cuda.CUDAGraph()
            load(0)
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                run(0)
            torch.cuda.current_stream().wait_stream(side)
            with torch.cuda.graph(g):
                run(0)
            graph, how = g, "cuda_graph"
        except Exception as exc:  # noqa: BLE001 - any capture failure: time eager and say why
            how = f"eager: capture failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        if not _agree(comm, graph is not None):
            graph = None
            how = how if how != "cuda_graph" else "eager: capture failed on another rank"
        torch.cuda.synchronize()
        if graph is not None:
            for i in range(n_inputs):
                load(i)
                graph.replay()
            torch.cuda.synchronize()
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for r, (start, end) in enumerate(events):
        load(r % n_inputs)
        start.record()
        graph.replay() if graph is not None else run(r % n_inputs)
        end.record()
    if on_loaded is not None:
        on_loaded()
    torch.cuda.synchronize()
    stats = summarize([s.elapsed_time(e) for s, e in events], graph is not None, n_inputs)
    del graph
    return stats, how


def time_collectives(trace, comm: Comm, ops: tuple[str, ...], reps: int = 20) -> TimingStats | None:
    """Replay the traced collectives whose op is in ``ops``, alone, in their order and sizes (one step's worth).

    Collective time does not depend on the values, so the buffers are zeros. None when no op matches.
    """
    chosen = [(op, shape, dtype) for op, shape, dtype in trace if op in ops]
    if not chosen:
        return None
    dev = _device()
    bufs = [(op, (comm.scratch(shape, dtype, dev) if op == "all_reduce" else torch.empty(shape, dtype=dtype,
                                                                                         device=dev)).zero_(),
             torch.empty(shape, dtype=dtype, device=dev)) for op, shape, dtype in chosen]  # symmetric slots as used

    def run(_i):
        for op, a, b in bufs:
            comm.all_reduce(a) if op == "all_reduce" else comm.all_to_all(b, a)
    saved, comm.trace = comm.trace, None
    try:
        stats, _ = time_on_ranks(run, lambda i: None, 1, comm, reps=reps, warmup=2, use_graph=True)
    finally:
        comm.trace = saved
    return stats
