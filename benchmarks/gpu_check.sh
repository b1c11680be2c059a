#!/usr/bin/env bash
# The checks that need a GPU, in one command of about 5 minutes on one GPU. Run from the
# repository root on a machine with CUDA and PyTorch: `bash benchmarks/gpu_check.sh [OUTDIR]`.
# Packages the machine lacks and cannot download can be put beforehand as wheels in .devwheels/
# (`pip download mnist1d mlxtend --no-deps -d .devwheels`). Writes OUTDIR/gpu_check.json and
# OUTDIR/tests.log.
set -uo pipefail
out=${1:-gpu-check}
mkdir -p "$out"
py=${PYTHON:-python3}
if compgen -G ".devwheels/*.whl" > /dev/null; then
    $py -m pip install -q --no-deps --no-index .devwheels/*.whl
fi
$py -m pip install -q --no-deps --no-build-isolation -e . || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
# 1. the tests that run only where CUDA is, and the executor and loop tests on a CUDA machine
timeout 200 $py -m pytest -q -p no:cacheprovider tests/blocks/test_dropout.py \
    tests/experiment/training/test_amp_compile.py tests/experiment/training/test_loop.py 2>&1 | tee "$out/tests.log" | tail -n 15
# 2. stacked against sequential training on CUDA, --device auto, --amp (benchmarks/gpu_check.py)
timeout 300 $py benchmarks/gpu_check.py --out "$out"
