"""The collectives a sharded step uses, on torch.distributed (NCCL on GPUs, gloo on CPU), with an op trace.

World size 1 needs no process group: every collective is the identity. When ``trace`` is a list, each
collective appends (op, shape, dtype), so the step's communication can be replayed alone and timed
(tasks/gpu/parallel/timing.py, comm_only).

All-reduce, two implementations (both torch.distributed's own): NCCL (``dist.all_reduce``, the default), or
with enable_symm_all_reduce() torch's symmetric-memory one-shot all-reduce
(``torch.ops.symm_mem.one_shot_all_reduce_out``: each GPU reads the peers' buffers over NVLink with plain
loads, no multicast) for small activations: the producer writes straight into a symmetric buffer that
scratch() hands out (two slots used in turn, so a GPU never overwrites a slot a peer may still be reading:
each call's entry barrier orders it after the peer's previous call), and the sum lands in a new tensor.
"""
from __future__ import annotations

import torch
import torch.distributed as dist


class Comm:
    """Rank, world size and the two collectives of the sharded step (all-reduce, equal-split all-to-all)."""

    def __init__(self, world_size: int = 1, rank: int = 0, group=None) -> None:
        if world_size > 1 and not dist.is_initialized():
            raise RuntimeError("world_size > 1 needs torch.distributed initialised (launch with torchrun)")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world_size {world_size}")
        self.world_size, self.rank, self.group = world_size, rank, group
        self.trace: list[tuple[str, tuple[int, ...], torch.dtype]] | None = None
        self._symm: tuple[torch.Tensor, str] | None = None  # (buffer [2, slot numel], group name)
        self._slot = 0
        self.all_reduce_impl = "nccl" if world_size > 1 else "none"

    @classmethod
    def from_env(cls) -> "Comm":
        """The default process group's rank and size (world 1 when torch.distributed is not initialised)."""
        if not dist.is_initialized():
            return cls()
        return cls(dist.get_world_size(), dist.get_rank())

    def _note(self, op: str, t: torch.Tensor) -> None:
        if self.trace is not None:
            self.trace.append((op, tuple(t.shape), t.dtype))

    def enable_symm_all_reduce(self, max_numel: int, dtype: torch.dtype, device) -> str:
        """Allocate and exchange the symmetric buffers (collective); returns 'symm_mem_one_shot' or why not."""
        if self.world_size == 1:
            return "world size 1"
        try:
            import torch.distributed._symmetric_memory as symm_mem
            if hasattr(symm_mem, "set_backend"):
                symm_mem.set_backend("CUDA")  # cuMem + P2P; never NVSHMEM or multicast
            group = self.group or dist.group.WORLD
            name = group.group_name
            if hasattr(symm_mem, "enable_symm_mem_for_group"):
                symm_mem.enable_symm_mem_for_group(name)
            buf = symm_mem.empty(2 * max_numel, dtype=dtype, device=device)
            symm_mem.rendezvous(buf, name)
            want = self.world_size * (self.world_size + 1) / 2
            for at in (0, max_numel):  # both slots (the second at an offset into the allocation)
                probe = buf[at:at + self.world_size].fill_(self.rank + 1)
                got = torch.empty_like(probe)
                torch.ops.symm_mem.one_shot_all_reduce_out(probe, "sum", name, got)
                if not bool((got == want).all()):
                    raise RuntimeError(f"one-shot probe at {at} summed to {got.tolist()}, expected {want}")
        except Exception as exc:  # noqa: BLE001 - any failure: NCCL all-reduce, and say why
            self._symm = None
            return f"nccl ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"
        self._symm = (buf.view(2, max_numel), name)
        self.all_reduce_impl = "symm_mem_one_shot"
        return self.all_reduce_impl

    def disable_symm_all_reduce(self) -> None:
        self._symm = None
        self.all_reduce_impl = "nccl" if self.world_size > 1 else "none"

    def scratch(self, shape: tuple[int, ...], dtype: torch.dtype, device) -> torch.Tensor:
        """A buffer to write an all-reduce's input into: the next symmetric slot when it fits, else a new tensor."""
        numel = 1
        for d in shape:
            numel *= d
        if self._symm is not None and self._symm[0].dtype == dtype and numel <= self._symm[0].shape[1]:
            self._slot ^= 1
            return self._symm[0][self._slot, :numel].view(shape)
        return torch.empty(shape, dtype=dtype, device=device)

    def _in_symm(self, t: torch.Tensor) -> bool:
        if self._symm is None or t.dtype != self._symm[0].dtype or not t.is_contiguous():
            return False
        b = self._symm[0]
        lo = b.data_ptr()
        return lo <= t.data_ptr() and t.data_ptr() + t.numel() * t.element_size() <= lo + b.numel() * b.element_size()

    def all_reduce(self, t: torch.Tensor) -> torch.Tensor:
        """Sum over ranks; returns the sum (t itself with NCCL, a new tensor when t lies in a symmetric slot).

        Callers must use the return value."""
        self._note("all_reduce", t)
        if self.world_size == 1:
            return t
        if self._in_symm(t):
            out = torch.empty_like(t)
            torch.ops.symm_mem.one_shot_all_reduce_out(t, "sum", self._symm[1], out)
            return out
        dist.all_reduce(t, group=self.group)
        return t

    def all_to_all(self, out: torch.Tensor, inp: torch.Tensor) -> torch.Tensor:
        """Equal-split all-to-all along dim 0: block j of inp goes to rank j, block i of out comes from rank i.

        Equal splits keep every shape fixed from step to step (no host sync), so the step can be graph-captured.
        """
        if inp.shape[0] % self.world_size:
            raise ValueError(f"all_to_all needs dim 0 ({inp.shape[0]}) divisible by world_size {self.world_size}")
        self._note("all_to_all", inp)
        if self.world_size > 1:
            dist.all_to_all_single(out, inp, group=self.group)
        else:
            out.copy_(inp)
        return out

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier(group=self.group)

    def all_gather_object(self, obj):
        """Every rank's obj, in rank order (a list of one on world size 1)."""
        if self.world_size == 1:
            return [obj]
        out = [None] * self.world_size
        dist.all_gather_object(out, obj, group=self.group)
        return out


def shard_range(total: int, world_size: int, rank: int, what: str) -> tuple[int, int]:
    """[start, stop) of rank's equal share of ``total`` items; raises when total does not divide."""
    if total % world_size:
        raise ValueError(f"{what}={total} does not split over {world_size} GPUs: choose a world size that divides it")
    size = total // world_size
    return rank * size, (rank + 1) * size
