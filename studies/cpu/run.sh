#!/usr/bin/env bash
# Every built-in study at the cpu scale, one after another with the default executor, timing each.
# Usage: bash studies/cpu/run.sh [STUDY ...]   (resumable: a second run trains only what is missing)
# LAYERORDER_SRC: run a frozen copy of the package's source (so edits made meanwhile are not run).
set -u
if [ -n "${LAYERORDER_SRC:-}" ]; then export PYTHONPATH="$LAYERORDER_SRC"; fi
cd "$(dirname "$0")/../.."
store=studies/cpu/cpu.db
studies=${*:-bn-activation pooling dropout-bn learning-rate transformer-warmup residual-units rnn-norm}
for s in $studies; do
    start=$(date +%s)
    echo "=== $s start $(date -u +%FT%TZ)"
    COLUMNS=200 layerorder study run "$s" --scale cpu --store "$store" >> "studies/cpu/$s.log" 2>&1
    rc=$?
    echo "=== $s rc $rc wall $(( $(date +%s) - start )) s"
done
