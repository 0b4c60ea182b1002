#!/usr/bin/env bash
# The one batched H200 run behind results/h200/: DeepSpeed-v2 builds (background), the flagship sweep,
# the MoE layer benchmark and the GPU tests. Usage (repo root, wheels in .whl/): bash benchmarks/device_run.sh SHA
set -u
SHA=${1:-unknown}
OUT=${OUT:-/tmp/out}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/base/*.whl .whl/v2/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 SOVEREIGN_GIT_SHA=$SHA TORCH_CUDA_ARCH_LIST=9.0
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,clocks.sm,clocks.mem --format=csv
MAX_JOBS=8 python3 benchmarks/build_ds_v2.py ${DS_V2_OPS:-InferenceCutlassBuilder} > $OUT/ds_v2_build.log 2>&1 &
timeout 330 python3 -m tasks.gpu.measure --models llada2_mini llada_moe_7b llama2_70b \
  --tokens 1 8 16 32 64 128 256 --engines grouped_triton grouped deepspeed loop --eager-tokens 64 128 \
  --routing calibrated --validate-per-layer llada2_mini --validate-tokens 64 128 --time-budget-s 260 \
  --git-sha $SHA --out $OUT/h200_sweep.json 2>&1 | grep -v "real_accelerator" > $OUT/sweep.log
echo "sweep exit ${PIPESTATUS[0]}"; tail -45 $OUT/sweep.log
wait
timeout 140 python3 benchmarks/moe_layer.py --git-sha $SHA --out $OUT/moe_layer.json --table $OUT/moe_layer.txt \
  2>&1 | grep -v "real_accelerator" > $OUT/bench.log
echo "bench exit ${PIPESTATUS[0]}"; cat $OUT/moe_layer.txt; tail -3 $OUT/ds_v2_build.log
timeout 240 python3 -m pytest tests/gpu -p no:cacheprovider --confcutdir=tests/gpu -q -rs > $OUT/pytest.log 2>&1
echo "pytest exit $?"; tail -15 $OUT/pytest.log
