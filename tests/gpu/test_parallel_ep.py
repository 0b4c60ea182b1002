"""Expert-parallel dispatch and the tensor-parallel stack on CPU: 2 gloo processes vs the 1-process result."""
from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tasks.gpu.engines import MoEWeights, reference_moe, relative_error
from tasks.gpu.parallel.comm import Comm
from tasks.gpu.parallel.expert_parallel import ExpertParallelMoE, unique_experts_per_rank
from tasks.gpu.parallel.stack import ParallelStack
from tests.gpu.helpers import tiny_spec

E, K, H, I = 8, 2, 32, 16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _moe_inputs(n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, H, generator=g)
    ids = torch.stack([torch.randperm(E, generator=g)[:K] for _ in range(n)]).int()
    w = torch.softmax(torch.randn(n, K, generator=g), -1)
    return x, ids, w


def _worker(rank: int, world: int, port: int, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        comm = Comm(world, rank)
        full = MoEWeights.random(E, H, I, dtype=torch.float32, seed=3)
        lo, hi = rank * E // world, (rank + 1) * E // world
        local = MoEWeights(full.w_gate_up[lo:hi].contiguous(), full.w_down[lo:hi].contiguous())
        out = {}
        for mode in ("all_to_all", "replicated"):
            layer = ExpertParallelMoE(local, E, K, comm, engine="torch_loop", dispatch=mode)
            for n in (1, 5, 12):  # N=1: rank 1 holds no tokens; N=5: uneven slices
                x, ids, w = _moe_inputs(n, seed=n)
                y = comm.all_reduce(layer(x, ids, w).clone())
                out[(mode, n)] = relative_error(y, reference_moe(full, x, ids, w))
        spec = tiny_spec("llada2_mini", num_experts=8, top_k=2)
        stack = ParallelStack(spec, comm, prefix_len=4, device="cpu", dtype=torch.float32, seed=5,
                              engine="torch_loop", init="slice")
        stack.prepare(6)
        routing = torch.stack([_moe_inputs(6, seed=10 + j)[1] for j in range(len(stack.moe_layers))])
        logits = stack.forward(torch.arange(6), routing)
        gathered = [torch.empty_like(logits) for _ in range(world)]
        dist.all_gather(gathered, logits)
        out["logits"] = torch.cat(gathered, 1).numpy()  # numpy: pickled by value, not shared by fd
        queue.put((rank, out))
    finally:
        dist.destroy_process_group()


def _run_world(world: int) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, world, port, queue)) for r in range(world)]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return results


@pytest.mark.timeout(240)
def test_expert_parallel_two_gloo_ranks_match_one_process():
    one, two = _run_world(1), _run_world(2)
    for key, err in two[0].items():
        if key == "logits":
            continue
        assert err < 1e-5, (key, err)  # the dispatched layer equals the float reference on every N
        assert two[1][key] < 1e-5
        assert one[0][key] < 1e-5
    ref = torch.from_numpy(one[0]["logits"])
    assert relative_error(torch.from_numpy(two[0]["logits"]), ref) < 1e-5  # TP + EP stack = the one-rank stack
    assert (two[0]["logits"] == two[1]["logits"]).all()


def test_single_rank_needs_no_process_group():
    comm = Comm()
    x = torch.randn(4, 3)
    out = torch.empty_like(x)
    assert torch.equal(comm.all_to_all(out, x), x) and torch.equal(comm.all_reduce(x.clone()), x)
    with pytest.raises(ValueError, match="holds 3 experts"):
        ExpertParallelMoE(MoEWeights.random(3, H, I), 7, 2, Comm(), engine="torch_loop")


def test_unique_experts_per_rank_splits_the_layer():
    routing = torch.tensor([[[[0, 5], [1, 5], [6, 7]]]]).numpy()  # 1 step, 1 layer, 3 tokens, k=2; E=8
    assert unique_experts_per_rank(routing, 8, 2) == [2.0, 3.0]
