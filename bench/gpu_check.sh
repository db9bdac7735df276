#!/usr/bin/env bash
# The GPU check, under 8 minutes on one H100/H200: the tests marked `cuda`, then the run-group benchmark
# with K = 39 runs (one map of the `paper` preset) of vanilla QMIX on 3m, on CUDA.
#   bash bench/gpu_check.sh            (after the README's install; expects .venv)
# Goal (issue 13): >= 100k aggregate env-steps/s at K = 39.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
[ -x "$python" ] || python=python3
"$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch')"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$python" -m pytest -q -m cuda tests
"$python" -m bench.bench_group --device cuda --maps 3m --methods vanilla --sizes 1,39 --seconds 30 --no-separate
"$python" -m bench.bench_group --device cuda --maps 2s3z --methods vanilla,adv_train --sizes 39 --seconds 20 --no-separate
