"""GPU measurement of MoE diffusion-decoding steps: FFN engines, block harness, timing and result records.

Imports only stdlib, numpy, yaml, torch (triton, pynvml and deepspeed optional) and tasks.moe, so it runs
on a bare GPU box. Entry points: ``python -m tasks.gpu.measure`` (sweep) and ``benchmarks/moe_layer.py``.
"""
