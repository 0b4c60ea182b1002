"""Measure one sharded model at several N: step time on every rank, the step's collectives timed alone,
per-GPU unique experts and bytes, per-GPU roofline, NVML telemetry of every GPU."""
from __future__ import annotations

import numpy as np
import torch

from tasks.gpu.harness import layer_kinds_of, stack_weight_bytes
from tasks.gpu.parallel.bytes import h100_gpus_needed, per_rank_bytes
from tasks.gpu.parallel.comm import Comm
from tasks.gpu.parallel.expert_parallel import unique_experts_per_rank
from tasks.gpu.parallel.stack import ParallelStack
from tasks.gpu.parallel.timing import time_collectives, time_on_ranks
from tasks.gpu.points import step_bytes, unique_experts
from tasks.gpu.results import PointResult
from tasks.gpu.timing import nvml_snapshot

H200_DATASHEET_BW, H100_DATASHEET_BW = 4.8e12, 3.35e12


def engine_label(spec, comm: Comm, dispatch: str) -> str:
    """'ep2_all_to_all' / 'ep2_replicated' for MoE models, 'tp2' for dense ones (the point's engine)."""
    return f"ep{comm.world_size}_{dispatch}" if spec.family == "moe" else f"tp{comm.world_size}"


def _inputs(stack: ParallelStack, routing: np.ndarray | None, n: int, rotations: int, seed: int):
    g = torch.Generator(device="cpu").manual_seed(seed)  # same seed on every rank: same tokens everywhere
    tok = torch.randint(0, stack.spec.vocab, (rotations, n), generator=g).to(stack.device)
    rt = None if routing is None else torch.from_numpy(np.ascontiguousarray(routing)).to(stack.device)
    static = {"tok": tok[0].clone(), "rt": None if rt is None else rt[0].clone()}

    def load(i: int) -> None:
        static["tok"].copy_(tok[i % rotations])
        if rt is not None:
            static["rt"].copy_(rt[i % rt.shape[0]])
    return static, load


def time_point(stack: ParallelStack, routing, n: int, reps: int, rotations: int, seed: int, local_rank: int):
    """This rank's view of one point: two timings of the step, the comm replays, telemetry."""
    comm = stack.comm
    stack.prepare(n)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    n_inputs = rotations if routing is None else routing.shape[0]
    static, load = _inputs(stack, routing, n, n_inputs, seed)
    run = lambda i: stack.forward(static["tok"], static["rt"])  # noqa: E731
    tele: dict = {}
    with torch.inference_mode():
        a, how = time_on_ranks(run, load, n_inputs, comm, reps=reps, use_graph=stack.graph_safe)
        b, _ = time_on_ranks(run, load, n_inputs, comm, reps=reps, warmup=1, use_graph=stack.graph_safe,
                             on_loaded=lambda: tele.update(nvml_snapshot(local_rank)))
        comm.trace = []
        load(0)
        run(0)
        trace, comm.trace = comm.trace, None
        all_comm = time_collectives(trace, comm, ("all_reduce", "all_to_all"), reps)
        a2a = time_collectives(trace, comm, ("all_to_all",), reps)
    counts = {op: sum(1 for t in trace if t[0] == op) for op in ("all_reduce", "all_to_all")}
    a2a_bytes = sum(int(np.prod(s)) * torch.empty((), dtype=d).element_size() for op, s, d in trace
                    if op == "all_to_all")
    return {"rank": comm.rank, "a": a.to_dict(), "b": b.to_dict(), "how": how, "telemetry": tele,
            "comm_ms": all_comm.median_ms if all_comm else 0.0, "a2a_ms": a2a.median_ms if a2a else 0.0,
            "collectives_per_step": counts, "a2a_send_bytes_per_step": a2a_bytes,
            "peak_memory_bytes": int(torch.cuda.max_memory_allocated()) if cuda else 0,
            "memory_allocated_bytes": int(torch.cuda.memory_allocated()) if cuda else 0}


def assemble(kind: str, spec, routing_name: str, n: int, engine: str, ranks: list[dict], ceilings_per_rank: list[dict],
             routing, prefix_len: int, engine_info: dict, note: str = "") -> PointResult:
    """A PointResult of the sharded step: slowest rank's time, busiest rank's bytes, per-rank details."""
    w = len(ranks)
    per_layer, u_mean, u_p90 = unique_experts(routing, spec.num_experts) if routing is not None else ([], None, None)
    cost = step_bytes(spec, n, prefix_len, per_layer)
    uniq_r = unique_experts_per_rank(routing, spec.num_experts, w) if routing is not None else [0.0] * w
    bytes_r = per_rank_bytes(cost, spec, uniq_r)
    slow = max(ranks, key=lambda r: r["a"]["median_ms"])
    step_ms = slow["a"]["median_ms"]
    per_rank, roof = [], 0.0
    for r, br, c in zip(ranks, bytes_r, ceilings_per_rank):
        r_roof = 1e3 * max(br["total"] / c["copy_bandwidth_bytes_s"], cost.total_flops / w / c["bf16_gemm_flops"])
        roof = max(roof, r_roof)
        per_rank.append({"rank": r["rank"], "unique_experts_mean": uniq_r[r["rank"]], "bytes": br["total"],
                         "bytes_breakdown": br, "roofline_ms": r_roof, "step_median_ms": r["a"]["median_ms"],
                         "timing": [r["a"], r["b"]], "copy_bandwidth_bytes_s": c["copy_bandwidth_bytes_s"],
                         "util_copy": br["total"] / (step_ms * 1e-3) / c["copy_bandwidth_bytes_s"],
                         "peak_memory_bytes": r["peak_memory_bytes"], "timed_as": r["how"]})
    busiest = max(range(w), key=lambda i: bytes_r[i]["total"])
    comm_ms = max(r["comm_ms"] for r in ranks)
    a2a_ms = max(r["a2a_ms"] for r in ranks)
    h100 = h100_gpus_needed(spec, stack_weight_bytes(spec, layer_kinds_of(spec), True))
    h100["step_ms_projected"] = step_ms * (H200_DATASHEET_BW / H100_DATASHEET_BW) * w / h100["h100_gpus"]
    h100["projection_rule"] = (f"measured {w}xH200 ms x (4.8/3.35 TB/s) x ({w}/{h100['h100_gpus']} GPUs): per-GPU "
                               "bytes scale with 1/GPUs; communication and kernel efficiency assumed unchanged")
    parallel = {"world_size": w, "tensor_parallel": w, "expert_parallel": w if spec.family == "moe" else 1,
                "per_rank": per_rank, "comm_ms": comm_ms, "comm_share": comm_ms / step_ms,
                "a2a_ms": a2a_ms, "a2a_share": a2a_ms / step_ms, "comm_timing": "the step's collectives replayed "
                "alone in a CUDA graph, same order and sizes; slowest rank's median",
                "collectives_per_step": ranks[0]["collectives_per_step"],
                "a2a_send_bytes_per_step_per_rank": ranks[0]["a2a_send_bytes_per_step"],
                "bytes_model": "tasks/gpu/parallel/bytes.py per_rank_bytes",
                "total_bytes_all_ranks": sum(b["total"] for b in bytes_r), "h100_projection": h100}
    c_busy = ceilings_per_rank[busiest]
    p = PointResult(kind=kind, model=spec.name, routing=routing_name, n_tokens=n, engine=engine, step_ms=step_ms,
                    p90_ms=max(r["a"]["p90_ms"] for r in ranks),
                    spread=abs(slow["a"]["median_ms"] - slow["b"]["median_ms"]) / step_ms,
                    timing=[slow["a"], slow["b"]], stack="full", prefix_len=prefix_len, unique_experts_mean=u_mean,
                    unique_experts_p90=u_p90, bytes_moved=bytes_r[busiest]["total"],
                    bytes_breakdown=bytes_r[busiest], byte_model="tasks.moe.step_model.step_cost, per GPU "
                    "(tasks/gpu/parallel/bytes.py): busiest GPU", flops=cost.total_flops / w,
                    telemetry={f"gpu{r['rank']}": r["telemetry"] for r in ranks},
                    engine_info={**engine_info, "parallel": parallel,
                                 "cuda_graph": all(r["how"] == "cuda_graph" for r in ranks)},
                    peak_memory_bytes=max(r["peak_memory_bytes"] for r in ranks), notes=note)
    p.achieved_bandwidth_bytes_s = p.bytes_moved / (step_ms * 1e-3)
    p.util_copy = p.achieved_bandwidth_bytes_s / c_busy["copy_bandwidth_bytes_s"]
    p.util_datasheet = p.achieved_bandwidth_bytes_s / H200_DATASHEET_BW
    p.roofline_ms, p.roofline_ratio = roof, roof / step_ms
    return p


def layer_check(stack: ParallelStack, routing, n: int, seed: int) -> float:
    """The first MoE layer, dispatched as timed, against the float32 reference of the same experts (routing
    of step 0, random hidden states and weights, the same on every rank)."""
    from tasks.gpu.parallel.expert_parallel import check_against_reference
    g = torch.Generator(device="cpu").manual_seed(seed)
    h = stack.spec.hidden
    xn = torch.randn(n, h, generator=g).to(stack.device, stack.dtype)
    ids = torch.from_numpy(np.ascontiguousarray(routing[0, 0])).to(stack.device)
    w = torch.softmax(torch.randn(n, stack.spec.top_k, generator=g), -1).to(stack.device)
    with torch.inference_mode():
        return check_against_reference(stack.moe_layers[0], xn, ids, w)


def return_trip(stack: ParallelStack, spec, args, routing, n: int, engine: str, per_rank_ceil: list[dict],
                local_rank: int, log) -> dict:
    """The all_to_all dispatch with DeepEP's return all-to-all instead of the combine through the all-reduce,
    same routing and N (a check beside the point, not a point: the flow reads the default)."""
    for m in stack.moe_layers:
        m.combine = "all_to_all"
    try:
        res = time_point(stack, routing, n, args.reps, args.rotations, args.seed + n, local_rank)
    finally:
        for m in stack.moe_layers:
            m.combine = args.combine
    ranks = stack.comm.all_gather_object(res)
    p = assemble("step", spec, args.routing, n, engine, ranks, per_rank_ceil, routing, args.prefix_len, {})
    par = p.engine_info["parallel"]
    log(f"[{spec.name}] N={n:4d} {engine} + return all-to-all {p.step_ms:8.3f} ms  a2a {par['a2a_ms']:.3f} ms "
        f"({par['a2a_share']:.1%})  roofline {p.roofline_ratio:.1%}")
    return {"check": "all_to_all dispatch with a return all-to-all (DeepEP combine)", "model": spec.name,
            "n_tokens": n, "engine": engine, "step_ms": p.step_ms, "a2a_ms": par["a2a_ms"],
            "a2a_share": par["a2a_share"], "comm_ms": par["comm_ms"], "roofline_ratio": p.roofline_ratio,
            "collectives_per_step": par["collectives_per_step"], "cuda_graph": p.engine_info["cuda_graph"]}
