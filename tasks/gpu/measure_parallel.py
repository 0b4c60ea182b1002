"""CLI: measure sharded steps on several GPUs of one host (tensor + expert parallel) and write results JSON.

    torchrun --nproc-per-node 2 -m tasks.gpu.measure_parallel --models llada2_flash llada2_mini llama2_70b \\
        --tokens 1 8 32 64 128 256 --single-gpu-models llada2_mini --out results/h200x2/<date>_<sha>.json

One process per GPU (NCCL; NVLink multicast stays off). Ceilings (copy bandwidth, bf16 GEMM) are measured on
every GPU, plus the all-to-all link bandwidth. The file is a tasks.gpu.results MeasurementRun whose
provenance names the GPUs '<W>xNVIDIA H200', so the flow labels its points 'measured:2xNVIDIA H200';
per-GPU details sit in each point's engine_info['parallel'] and telemetry['gpu<r>']. The one-GPU figures of
--single-gpu-models (same code, world size 1, on GPU 0) are stored as checks beside the sharded points.
"""
from __future__ import annotations

import argparse
import gc
import os
import shlex
import sys
import time
from datetime import timedelta

for _var, _val in (("NCCL_NVLS_ENABLE", "0"), ("TORCH_SYMM_MEM_DISABLE_MULTICAST", "1"), ("NVSHMEM_DISABLE_NVLS", "1")):
    os.environ[_var] = _val  # NVLink multicast off, before NCCL starts (see the device notes)

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from tasks.gpu.measure import sample_routing  # noqa: E402
from tasks.gpu.parallel.comm import Comm  # noqa: E402
from tasks.gpu.parallel.points import assemble, engine_label, layer_check, return_trip, time_point  # noqa: E402
from tasks.gpu.parallel.stack import ParallelStack  # noqa: E402
from tasks.gpu.parallel.timing import _agree  # noqa: E402
from tasks.gpu.results import Ceilings, FailedPoint, MeasurementRun, collect_provenance, find_recorded, save_results  # noqa: E402,E501
from tasks.gpu.timing import measure_copy_bandwidth, measure_gemm_flops  # noqa: E402
from tasks.moe.hardware import load_hardware  # noqa: E402
from tasks.moe.specs import load_model_spec  # noqa: E402


def link_bandwidth(comm: Comm, nbytes: int = 1 << 30, reps: int = 10) -> dict:
    """All-to-all of nbytes per rank; bytes that cross to other GPUs / median time."""
    if comm.world_size == 1:
        return {}
    x = torch.randn(nbytes // 2, device="cuda", dtype=torch.bfloat16)
    y = torch.empty_like(x)
    for _ in range(3):
        comm.all_to_all(y, x)
    torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        comm.all_to_all(y, x)
        e.record()
        e.synchronize()
        ts.append(s.elapsed_time(e))
    ms = sorted(ts)[len(ts) // 2]
    cross = nbytes * (comm.world_size - 1) / comm.world_size
    return {"a2a_bytes_per_rank": nbytes, "a2a_median_ms": ms, "a2a_cross_bytes_per_s_per_rank": cross / (ms * 1e-3)}


def measure_ceilings_all(comm: Comm) -> tuple[Ceilings, list[dict]]:
    """Copy bandwidth and bf16 GEMM rate of every GPU, and the all-to-all link bandwidth (nominal on CPU)."""
    if not torch.cuda.is_available():
        mine = {"rank": comm.rank, "copy_bandwidth_bytes_s": 50e9, "bf16_gemm_flops": 1e12, "memory_bytes": 0,
                "note": "nominal CPU values, not measured"}
        per = comm.all_gather_object(mine)
        return Ceilings(50e9, 1e12, 50e9, 1e12, details={"per_rank": per, "link": {}}), per
    mine = {"rank": comm.rank, **measure_copy_bandwidth(), **measure_gemm_flops(),
            "memory_bytes": torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory}
    per_rank = comm.all_gather_object(mine)
    link = link_bandwidth(comm)
    ds = load_hardware("h200")
    return Ceilings(copy_bandwidth_bytes_s=min(r["copy_bandwidth_bytes_s"] for r in per_rank),
                    bf16_gemm_flops=min(r["bf16_gemm_flops"] for r in per_rank),
                    datasheet_bandwidth_bytes_s=ds.hbm_bandwidth_bytes_s, datasheet_bf16_flops=ds.bf16_flops,
                    memory_bytes=float(per_rank[0]["memory_bytes"]),
                    details={"per_rank": per_rank, "link": link, "rule": "top-level copy/GEMM = the lower GPU's; "
                             "per-GPU rooflines use each GPU's own", "datasheet": ds.source}), per_rank


def _dev() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _engine() -> str:
    """Per-GPU expert kernels: tasks/gpu/triton_moe.py; the plain-torch loop on CPU (smoke runs, tests)."""
    return "grouped_triton" if torch.cuda.is_available() else "torch_loop"


def _free(stack) -> None:
    if stack is not None:
        stack.free()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def measure_model(spec, args, comm: Comm, per_rank_ceil: list[dict], run: MeasurementRun, deadline: float,
                  local_rank: int, log) -> list[dict]:
    """All points of one model on comm's ranks; returns compact rows for the one-GPU comparison."""
    routing_name = args.routing if spec.family == "moe" else "none"
    stack, err = None, ""
    try:
        stack = ParallelStack(spec, comm, args.prefix_len, device=_dev(), seed=args.seed, engine=_engine())
        stack.fused = stack.fused and not args.unfused
    except (torch.OutOfMemoryError, RuntimeError, ValueError) as exc:
        err = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    if not _agree(comm, stack is not None):
        _free(stack)
        run.failed.append(FailedPoint("step", spec.name, routing_name, 0, f"w{comm.world_size}", err or "another rank failed"))
        log(f"[{spec.name}] build failed: {err}")
        return []
    rows = []
    dispatches = args.dispatch if spec.family == "moe" else ["none"]
    for dispatch in dispatches:
        for m in stack.moe_layers:
            m.dispatch, m.combine = dispatch, args.combine
        engine = engine_label(spec, comm, dispatch)
        for n in args.tokens:
            if time.monotonic() > deadline:
                run.failed.append(FailedPoint("step", spec.name, routing_name, n, engine, "skipped: --time-budget-s spent"))
                continue
            routing = sample_routing(spec, args.routing, n, args.rotations, args.seed + n)
            res, err = None, ""
            try:
                res = time_point(stack, routing, n, args.reps, args.rotations, args.seed + n, local_rank)
            except (torch.OutOfMemoryError, RuntimeError, ValueError) as exc:
                err = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            if not _agree(comm, res is not None):
                run.failed.append(FailedPoint("step", spec.name, routing_name, n, engine, err or "failed on another rank"))
                log(f"[{spec.name}] N={n} {engine}: FAILED {err}")
                continue
            ranks = comm.all_gather_object(res)
            info = {"engine": engine, "local_engine": stack.moe_layers[0].info() if stack.moe_layers else "dense",
                    "fused_step": stack.fused, "all_reduce": comm.all_reduce_impl}
            kinds = ["step"] + (["decode"] if spec.family == "dense" and n == 1 else [])
            for kind in kinds:
                note = (f"{comm.world_size} GPUs: tensor-parallel attention/FFNs"
                        + (f", expert-parallel MoE ({dispatch})" if spec.family == "moe" else "")
                        + ("; batch-1 decode = the N=1 step over the prefix KV cache" if kind == "decode" else ""))
                p = assemble(kind, spec, routing_name, n, engine, ranks, per_rank_ceil, routing, args.prefix_len,
                             info, note)
                run.points.append(p)
            par = p.engine_info["parallel"]
            rows.append({"n": n, "engine": engine, "ms": p.step_ms})
            log(f"[{spec.name}] N={n:4d} {engine:16s} {p.step_ms:8.3f} ms  a2a {par['a2a_ms']:.3f} ms "
                f"({par['a2a_share']:.1%})  comm {par['comm_share']:.1%}  roofline {p.roofline_ratio:.1%}  "
                f"graph {p.engine_info['cuda_graph']}")
            if dispatch == "all_to_all" and n in args.return_trip_tokens:
                run.checks.append(return_trip(stack, spec, args, routing, n, engine, per_rank_ceil, local_rank, log))
            if spec.family == "moe" and n == args.check_tokens:
                err = layer_check(stack, routing, n, args.seed)
                run.checks.append({"check": "expert-parallel layer vs float32 reference", "model": spec.name,
                                   "n_tokens": n, "engine": engine, "relative_error": err, "tolerance": 1e-2})
                log(f"[{spec.name}] layer check N={n} {engine}: relative error {err:.2e}")
            if comm.rank == 0:
                save_results(run, args.out)
    _free(stack)
    return rows


def single_gpu_rows(spec, args, run: MeasurementRun, local_rank: int, log) -> list[dict]:
    """The same model and code on GPU 0 alone (world size 1); the other ranks wait.

    On one GPU nothing is dispatched: 'replicated' runs the per-GPU kernels on all N*k slots, as the one-GPU
    engine does. (The runs at 0eaa200 and 445ec52 used 'all_to_all' here, which on one GPU still copies every
    slot's row into the dispatch buffer: 6.45 ms at N=64 against 5.08 ms for the one-GPU harness.)
    """
    comm = Comm()
    ceil = [{"copy_bandwidth_bytes_s": run.ceilings.details["per_rank"][0]["copy_bandwidth_bytes_s"],
             "bf16_gemm_flops": run.ceilings.details["per_rank"][0]["bf16_gemm_flops"]}]
    stack = ParallelStack(spec, comm, args.prefix_len, device=_dev(), seed=args.seed, engine=_engine(),
                          dispatch="replicated")
    stack.fused = stack.fused and not args.unfused
    rows = []
    for n in args.tokens:
        routing = sample_routing(spec, args.routing, n, args.rotations, args.seed + n)
        res = time_point(stack, routing, n, args.reps, args.rotations, args.seed + n, local_rank)
        p = assemble("step", spec, args.routing, n, "ep1_replicated", [res], ceil, routing, args.prefix_len, {})
        rows.append({"n": n, "ms": p.step_ms, "roofline_ratio": p.roofline_ratio, "util_copy": p.util_copy,
                     "timed_as": res["how"], "spread": p.spread})
        log(f"[{spec.name}] 1 GPU N={n:4d} {p.step_ms:8.3f} ms  roofline {p.roofline_ratio:.1%}")
    _free(stack)
    return rows


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="torchrun --nproc-per-node 2 -m tasks.gpu.measure_parallel",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["llada2_flash", "llada2_mini", "llama2_70b"])
    ap.add_argument("--tokens", nargs="+", type=int, default=[1, 8, 32, 64, 128, 256])
    ap.add_argument("--dispatch", nargs="+", default=["all_to_all"], choices=["all_to_all", "replicated"])
    ap.add_argument("--single-gpu-models", nargs="*", default=["llada2_mini"])
    ap.add_argument("--recorded-dir", default="results/h200", help="one-GPU sweep to cite beside the comparison")
    ap.add_argument("--routing", default="calibrated")
    ap.add_argument("--check-tokens", type=int, default=64, help="N at which each MoE layer is checked")
    ap.add_argument("--prefix-len", type=int, default=512)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rotations", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--all-reduce", default="nccl", choices=["symm", "nccl"],
                    help="symm: torch's symmetric-memory one-shot all-reduce (NCCL where it cannot start; on the "
                         "image's torch 2.11 it did not start: 'SymmetricMemory does not find allocation backend')")
    ap.add_argument("--combine", default="all_reduce", choices=["all_reduce", "all_to_all"],
                    help="all_to_all dispatch: expert rows summed by the layer's all-reduce, or a return all-to-all")
    ap.add_argument("--return-trip-tokens", nargs="*", type=int, default=[],
                    help="N at which the all_to_all dispatch is also timed with the return all-to-all (a check)")
    ap.add_argument("--unfused", action="store_true", help="plain torch per-GPU ops instead of the fused launches")
    ap.add_argument("--time-budget-s", type=float, default=1e9)
    ap.add_argument("--git-sha", default=None)
    ap.add_argument("--out", required=True)
    return ap


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if min(args.tokens) <= 0:
        raise SystemExit(f"--tokens must be positive, got {args.tokens}")
    deadline = time.monotonic() + args.time_budget_s
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
    if int(os.environ.get("WORLD_SIZE", 1)) > 1:
        if torch.cuda.is_available():
            dist.init_process_group("nccl", timeout=timedelta(seconds=600), device_id=torch.device("cuda", local_rank))
        else:
            dist.init_process_group("gloo", timeout=timedelta(seconds=600))
    comm = Comm.from_env()
    log = (lambda s: print(s, flush=True)) if comm.rank == 0 else (lambda s: None)
    specs = [load_model_spec(m) for m in args.models]
    prov = collect_provenance("torchrun --nproc-per-node %d -m tasks.gpu.measure_parallel %s"
                              % (comm.world_size, shlex.join(argv)), args.git_sha)
    prov.gpu_name = f"{comm.world_size}x{prov.gpu_name}"
    ceilings, per_rank_ceil = measure_ceilings_all(comm)
    run = MeasurementRun(provenance=prov, ceilings=ceilings)
    if args.all_reduce == "symm" and torch.cuda.is_available():
        how = comm.enable_symm_all_reduce(max(args.tokens) * max(s.hidden for s in specs), torch.bfloat16, "cuda")
        run.checks.append({"check": "all-reduce implementation", "result": how})
        log(f"all-reduce: {how}")
    log(f"{prov.gpu_name}: copy {[round(r['copy_bandwidth_bytes_s'] / 1e12, 3) for r in per_rank_ceil]} TB/s, "
        f"link {ceilings.details['link']}")
    try:
        for spec in specs:
            ep_rows = measure_model(spec, args, comm, per_rank_ceil, run, deadline, local_rank, log)
            if spec.name in args.single_gpu_models and time.monotonic() < deadline:
                one = single_gpu_rows(spec, args, run, local_rank, log) if comm.rank == 0 else []
                comm.barrier()
                for r in one:
                    ep = [e for e in ep_rows if e["n"] == r["n"]]
                    rec = find_recorded(args.recorded_dir, spec.name, args.routing, r["n"], "step", "grouped_triton")
                    run.checks.append({"check": f"EP={comm.world_size} vs 1 GPU", "model": spec.name, "n_tokens": r["n"],
                                       "one_gpu_ms": r["ms"], "one_gpu": r,
                                       "sharded_ms": {e["engine"]: e["ms"] for e in ep},
                                       "recorded_one_gpu_ms": rec[0][1].step_ms if rec else None,
                                       "recorded_one_gpu_sha": rec[0][0].git_sha if rec else None})
            if comm.rank == 0:
                save_results(run, args.out)
    finally:
        if comm.rank == 0:
            save_results(run, args.out)
        if dist.is_initialized():
            dist.destroy_process_group()
    log(format_table(run))


def format_table(run: MeasurementRun) -> str:
    lines = [f"{'model':13s} {'kind':6s} {'N':>4s} {'engine':16s} {'ms':>8s} {'a2a ms':>7s} {'a2a%':>5s} "
             f"{'comm%':>5s} {'uniq/GPU':>13s} {'GB/GPU':>7s} {'roofl':>6s} graph"]
    for p in run.points:
        par = p.engine_info["parallel"]
        u = "/".join(f"{r['unique_experts_mean']:.0f}" for r in par["per_rank"])
        lines.append(f"{p.model:13s} {p.kind:6s} {p.n_tokens:4d} {p.engine:16s} {p.step_ms:8.3f} {par['a2a_ms']:7.3f} "
                     f"{par['a2a_share']:5.1%} {par['comm_share']:5.1%} {u:>13s} {p.bytes_moved / 1e9:7.2f} "
                     f"{p.roofline_ratio:6.1%} {p.engine_info['cuda_graph']}")
    for c in run.checks:
        if "relative_error" in c:
            lines.append(f"check {c['model']} {c['engine']} N={c['n_tokens']}: rel err {c['relative_error']:.2e}")
            continue
        if "one_gpu_ms" not in c:
            lines.append(f"{c['check']}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                    for k, v in c.items() if k != "check"))
            continue
        lines.append(f"1-GPU {c['model']} N={c['n_tokens']}: {c['one_gpu_ms']:.3f} ms vs {c['sharded_ms']} "
                     f"(recorded 1-GPU sweep: {c['recorded_one_gpu_ms']})")
    for f in run.failed:
        lines.append(f"FAILED {f.model} {f.kind} N={f.n_tokens} {f.engine}: {f.reason}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
