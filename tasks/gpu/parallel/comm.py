"""The collectives a sharded step uses, on torch.distributed (NCCL on GPUs, gloo on CPU), with an op trace.

World size 1 needs no process group: every collective is the identity. When ``trace`` is a list, each
collective appends (op, shape, dtype), so the step's communication can be replayed alone and timed
(tasks/gpu/parallel/timing.py, comm_only).
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

    @classmethod
    def from_env(cls) -> "Comm":
        """The default process group's rank and size (world 1 when torch.distributed is not initialised)."""
        if not dist.is_initialized():
            return cls()
        return cls(dist.get_world_size(), dist.get_rank())

    def _note(self, op: str, t: torch.Tensor) -> None:
        if self.trace is not None:
            self.trace.append((op, tuple(t.shape), t.dtype))

    def all_reduce(self, t: torch.Tensor) -> torch.Tensor:
        """Sum over ranks, in place; returns t."""
        self._note("all_reduce", t)
        if self.world_size > 1:
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
