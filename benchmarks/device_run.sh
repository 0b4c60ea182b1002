#!/usr/bin/env bash
# The one batched H200 run (kind nvidia-h200-x2) behind results/h200/<date>_<sha>_*. GPU 0: benchmarks/step_bench.py
# (the one table: MoE layer + full step, every engine, both references, profiles). GPU 1: the flagship sweep, then
# the GPU tests. Usage (repo root; deepspeed + its pure-Python deps as wheels in .whl/): bash benchmarks/device_run.sh SHA
set -u
SHA=${1:-unknown}
OUT=${OUT:-/tmp/out}
mkdir -p $OUT
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1 \
  || echo "wheels not installed: deepspeed points will be recorded as failed"
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST=9.0 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
nvidia-smi --query-gpu=index,name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv | tee $OUT/gpus.txt
( export CUDA_VISIBLE_DEVICES=1
  timeout 200 python3 -m tasks.gpu.measure --models llada2_mini llada_moe_7b llama2_70b --tokens 1 8 16 32 64 128 256 \
    --engines grouped_triton grouped --routing calibrated --time-budget-s 175 --git-sha $SHA --out $OUT/sweep.json \
    2>&1 | grep -v real_accelerator > $OUT/sweep.log
  echo "sweep exit ${PIPESTATUS[0]}" >> $OUT/sweep.log
  timeout 125 python3 -m pytest tests/gpu -m gpu -p no:cacheprovider --confcutdir=tests/gpu -q -rs > $OUT/pytest.log 2>&1
  echo "pytest exit $?" >> $OUT/pytest.log ) &
CUDA_VISIBLE_DEVICES=0 timeout 325 python3 benchmarks/step_bench.py --git-sha $SHA --out $OUT/step_bench.json \
  --table $OUT/step_bench.txt --eager-step-models llada2_mini \
  --step-engines grouped_triton grouped_triton+unfused grouped_triton+normrouter grouped_triton+epilogue \
  grouped_triton+torchsdpa grouped deepspeed loop \
  2>&1 | grep -v real_accelerator > $OUT/bench.log
echo "bench exit ${PIPESTATUS[0]}"
wait
tail -3 $OUT/sweep.log; tail -4 $OUT/pytest.log
grep -v "^\[" $OUT/bench.log | grep -v "^  " | tail -40
