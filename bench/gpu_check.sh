#!/usr/bin/env bash
# The GPU check, meant to take under 8 minutes on one H100/H200 (the first H200 run, with longer timings
# than these, reached the robust methods after 7):
# the tests marked `cuda`, where a run group's time goes (bench.gpu_profile), then run-group throughput
# on CUDA: vanilla QMIX on 3m at K = 1 and 39 runs (39: one map of the `paper` preset), each robust
# method at K = 9 (the paper preset's group: 3 train eps x 3 seeds), and 2s3z at K = 39.
#   bash bench/gpu_check.sh            (after the README's install; uses .venv when there is one)
# Goal (issue 13): >= 100k aggregate env-steps/s at K = 39. Every step runs even when one before it failed
# (the figures are worth having beside a failing test); the exit status says whether any failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
python=.venv/bin/python
[ -x "$python" ] || python=python3
"$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch')" || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
# Only the files that hold cuda tests: the others may need extras (pettingzoo, ray) a GPU image lacks.
mapfile -t cuda_tests < <(grep -l "mark.cuda" tests/test_*.py)
failed=0
step() { "$@" || { echo "FAILED: $*"; failed=1; }; }
group() { step "$python" -m bench.bench_group --device cuda --no-separate "$@"; }
step "$python" -m pytest -q -p no:cacheprovider -m cuda "${cuda_tests[@]}"
step "$python" -m bench.gpu_profile --map 3m --method vanilla --runs 39 --iterations 3
group --maps 3m --methods vanilla --sizes 1,39 --seconds 10
group --maps 3m --methods adv_train,policy_reg,atla,paad --sizes 9 --seconds 6
group --maps 2s3z --methods vanilla --sizes 39 --seconds 6
exit "$failed"
