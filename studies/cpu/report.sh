#!/usr/bin/env bash
# Each study's page and its compact JSON from the cpu-scale store (as each study finishes), then
# docs/findings.md from those JSON files alone (no store needed for that last step).
# Usage: bash studies/cpu/report.sh [STUDY ...]     (no names: every built-in study)
set -eu
cd "$(dirname "$0")/../.."
store=studies/cpu/cpu.db
studies=${*:-bn-activation pooling dropout-bn learning-rate transformer-warmup residual-units rnn-norm}
for s in $studies; do
    mkdir -p "studies/cpu/$s"
    rm -f "studies/cpu/$s"/findings*.png
    layerorder study report "$s" --scale cpu --store "$store" --format json -o "studies/cpu/$s/claims.json" > /dev/null
    layerorder study report "$s" --scale cpu --store "$store" --format md -o "studies/cpu/$s/findings.md" > /dev/null
done
from=()
for f in studies/cpu/*/claims.json; do from+=(--from "$f"); done
rm -f docs/findings_*.png
layerorder study report "${from[@]}" --format md -o docs/findings.md > /dev/null
layerorder study report "${from[@]}" --format json -o studies/cpu/claims.json > /dev/null
