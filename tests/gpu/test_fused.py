"""The fused step (Triton RoPE + KV write, router softmax + shared expert + residual inside the grouped MoE
launches) computes the same step as the plain torch path: on CPU under Triton's interpreter, and on a GPU at
real dimensions."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.gpu.helpers import needs_cuda

_INTERPRETED = r"""
import torch
from tasks.gpu import measure
from tasks.gpu.engines import sort_by_expert
from tasks.gpu.harness import DiffusionStack, layer_kinds_of
from tasks.gpu.triton_moe import routing_plan
from tests.gpu.helpers import tiny_spec
for er, s, n, k in [(16, 1, 5, 4), (16, 0, 7, 2), (300, 2, 9, 3), (2000, 1, 3, 2)]:
    g = torch.Generator().manual_seed(n)
    ids = torch.stack([torch.randperm(er, generator=g)[:k] for _ in range(n)]).int()
    ids[: n // 2, 0] = ids[0, 0]
    ids[: n // 2, 1:] = torch.where(ids[: n // 2, 1:] == ids[0, 0], (ids[0, 0] + 1) % er, ids[: n // 2, 1:])
    lg = torch.randn(n, er, generator=g)
    order, counts, offsets, rw = routing_plan(ids, er, s, lg)
    ext = torch.cat([ids, torch.arange(er, er + s).int().expand(n, s)], 1)
    for got, want in zip((order, counts, offsets), sort_by_expert(ext, er + s)):
        assert torch.equal(got, want), (er, s, n, k)
    want_w = torch.cat([torch.softmax(lg.gather(1, ids.long()), -1), torch.ones(n, s)], 1).reshape(-1)
    assert torch.allclose(rw, want_w, atol=1e-6), (er, s, n, k)
for name in ("llada2_mini", "llada_moe_7b"):
    spec = tiny_spec(name)
    stack = DiffusionStack(spec, layer_kinds_of(spec), True, prefix_len=8, device="cpu", dtype=torch.float32)
    n = 6
    stack.prepare(n)
    routing = torch.from_numpy(measure.sample_routing(spec, "calibrated", n, 1, 0)[0])
    kc = [c.clone() for c in stack.k_cache]
    vc = [c.clone() for c in stack.v_cache]
    outs = {}
    for eng in ("grouped", "grouped_triton"):
        stack.set_engine(eng)
        for fused, router in ((False, False), (True, False), (True, True)):
            stack.fused, stack.fused_router, stack.residual_epilogue = fused, router, router
            for a, b in zip(stack.k_cache + stack.v_cache, kc + vc):
                a.copy_(b)
            outs[(eng, fused, router)] = stack.forward(torch.arange(n), routing).float()
    ref = outs[("grouped", False, False)]
    for key, out in outs.items():
        err = float((out - ref).norm() / ref.norm())
        assert err < 1e-4, (name, key, err)
print("fused interpreted ok")
"""


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton not installed")
def test_fused_step_matches_plain_step_under_interpreter():
    """float32 tiny stacks (with and without a shared expert): every engine x fused/plain gives the same logits,
    and the routing plan (shared slots, softmax weights) equals the torch sort and softmax exactly."""
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run([sys.executable, "-c", _INTERPRETED], env=env, capture_output=True, text=True, timeout=900,
                          cwd=str(Path(__file__).resolve().parents[2]))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "fused interpreted ok" in proc.stdout


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("model,n", [("llada2_mini", 1), ("llada2_mini", 64), ("llada_moe_7b", 32)])
def test_gpu_fused_step_matches_float32_reference_at_real_dims(model, n):
    """Two layers at the model's real dimensions: the fused bf16 step against the plain step run in float32."""
    from tasks.gpu import measure
    from tasks.gpu.engines import MoEWeights
    from tasks.gpu.harness import DiffusionStack, layer_kinds_of
    from tasks.moe.specs import load_model_spec
    spec = load_model_spec(model)
    kinds = layer_kinds_of(spec)[-2:]
    routing = torch.from_numpy(measure.sample_routing(spec, "calibrated", n, 1, 0)[0][-len(kinds):]).cuda()
    stack = DiffusionStack(spec, kinds, False, prefix_len=256, device="cuda", seed=3)
    stack.prepare(n)
    stack.set_engine("grouped_triton")
    assert stack.fused
    x = torch.randn(n, spec.hidden, generator=torch.Generator().manual_seed(n)).cuda()
    with torch.inference_mode():
        out = stack.forward(None, routing, x=x.bfloat16()).float()
        for lw in stack.layers:  # the same weights and caches in float32, plain torch path, loop engine
            for f in ("attn_norm", "wqkv", "wo", "ffn_norm", "w13", "w2", "router"):
                if getattr(lw, f) is not None:
                    setattr(lw, f, getattr(lw, f).float())
            if lw.experts is not None:
                lw.experts = MoEWeights(lw.experts.w_gate_up.float(), lw.experts.w_down.float())
            lw.shared = None
        stack.k_cache = [c.float() for c in stack.k_cache]
        stack.v_cache = [c.float() for c in stack.v_cache]
        stack._cos, stack._sin, stack.dtype = stack._cos.float(), stack._sin.float(), torch.float32
        stack.set_engine("loop")
        stack.fused = False
        ref = stack.forward(None, routing, x=x).float()
    err = float((out - ref).norm() / ref.norm())
    assert err < 2e-2, err


def test_a_fused_op_that_cannot_run_falls_back_to_torch_and_says_so():
    """On CPU without Triton's interpreter the RoPE/KV kernel cannot launch: the step falls back to torch,
    gives the plain step's logits, and engine_info names the op that fell back."""
    from tasks.gpu import measure
    from tasks.gpu.harness import DiffusionStack, layer_kinds_of
    from tests.gpu.helpers import tiny_spec
    if os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("the interpreter runs the kernel")
    spec = tiny_spec()
    stack = DiffusionStack(spec, layer_kinds_of(spec), True, prefix_len=8, device="cpu", dtype=torch.float32)
    stack.set_engine("grouped")
    stack.prepare(4)
    routing = torch.from_numpy(measure.sample_routing(spec, "calibrated", 4, 1, 0)[0])
    plain = stack.forward(torch.arange(4), routing)
    stack.fused = True
    fused = stack.forward(torch.arange(4), routing)
    assert torch.allclose(plain, fused, atol=1e-5)
    assert "rope_qkv_write" in stack.engine_info()["fused_fallbacks"]
