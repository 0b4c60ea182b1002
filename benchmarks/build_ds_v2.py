"""Build DeepSpeed inference-v2 ops (cutlass_ops, inference_core_ops, ragged_device_ops) in parallel, JIT.

    TORCH_CUDA_ARCH_LIST=9.0 python benchmarks/build_ds_v2.py [InferenceCutlassBuilder ...]
Each op builds in its own process (torch's JIT cache, ~/.cache/torch_extensions); prints time and outcome.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

SNIPPET = """
import sys, time, traceback
import deepspeed.ops.op_builder as ob
b = getattr(ob, sys.argv[1])()
t = time.time()
try:
    b.load(verbose=False)
    print(f"BUILD {b.NAME} ok {time.time() - t:.1f}s", flush=True)
except BaseException as e:
    traceback.print_exc()
    print(f"BUILD {b.NAME} FAILED {time.time() - t:.1f}s {type(e).__name__}: {e}", flush=True)
"""

if __name__ == "__main__":
    os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "9.0")  # DeepSpeed cannot parse torch's '9.0a' entries
    os.environ.setdefault("MAX_JOBS", "5")
    t0 = time.time()
    procs = [subprocess.Popen([sys.executable, "-c", SNIPPET, name])
             for name in (sys.argv[1:] or ("InferenceCutlassBuilder", "InferenceCoreBuilder", "RaggedOpsBuilder"))]
    codes = [p.wait() for p in procs]
    print(f"all builds done in {time.time() - t0:.1f}s, exit codes {codes}", flush=True)
