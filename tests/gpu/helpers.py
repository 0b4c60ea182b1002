"""Shared helpers for tests/gpu: real model specs shrunk for CPU, and the CUDA skip marker."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from tasks.moe.specs import load_model_spec

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def tiny_spec(name: str = "llada2_mini", **changes):
    """The real conf/model spec with its dimensions shrunk so a full step runs on CPU in milliseconds."""
    spec = load_model_spec(name)
    small = dict(num_layers=3, hidden=64, num_heads=4, num_kv_heads=min(spec.num_kv_heads, 4) if spec.num_kv_heads < spec.num_heads else 4,
                 head_dim=16, vocab=128)
    if spec.family == "moe":
        small.update(num_experts=16, top_k=min(spec.top_k, 4), expert_inter=32,
                     shared_expert_inter=32 if spec.num_shared_experts else 0,
                     dense_ffn_inter=96 if spec.dense_ffn_inter else 0)
    else:
        small.update(dense_ffn_inter=96)
    small.update(changes)
    return dataclasses.replace(spec, **small)
