#!/usr/bin/env bash
# The CPU path of benchmarks/gpu_check.py beside two other busy processes (40 s loops), with
# OMP_NUM_THREADS=1 (each run on one thread) and without it (every core: two on this machine),
# three times each, alternating. Prints wall and CPU seconds of each; benchmarks/RESULTS.md,
# "threads that spun". Run from the repository root: bash benchmarks/bench_threads_under_load.sh
set -u
busy() { python3 -c "import time; t = time.time()
while time.time() - t < 40: pass" & }
for i in 1 2 3; do
    for omp in 1 unset; do
        busy; b1=$!
        busy; b2=$!
        if [ "$omp" = unset ]; then pre=(env -u OMP_NUM_THREADS); else pre=(env OMP_NUM_THREADS=1); fi
        /usr/bin/time -f "OMP_NUM_THREADS=$omp: %e s wall, %U s user, %S s sys" "${pre[@]}" \
            python benchmarks/gpu_check.py --device cpu --out "${TMPDIR:-/tmp}/threads-under-load" \
            --epochs 1 --seeds 2 --grid-seeds 2 --grid-epochs 1 --workers 2 \
            --image-dataset synthetic --dataset synthetic > /dev/null
        kill "$b1" "$b2" 2>/dev/null; wait "$b1" "$b2" 2>/dev/null
    done
done
