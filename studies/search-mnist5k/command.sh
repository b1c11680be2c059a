#!/usr/bin/env bash
# The search against the full comparison it replaces: cnn2d on mnist5k, every candidate order of
# the standard block (conv-bn-relu-drop), at a scale a 2-core CPU runs in under an hour: 3 epochs
# per full run, width 16. Run from the repository root; logs beside this file.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=studies/search-mnist5k
layerorder search --arch cnn2d --dataset mnist5k --epochs 3 --width 16 --dry-run > $here/plan.txt
/usr/bin/time -f "search wall %e s" layerorder search --arch cnn2d --dataset mnist5k --epochs 3 --width 16 \
    --store $here/search.db --json > $here/search.json 2> $here/search.log
orders=$(python -c "import json; print(','.join(c['spec'] for c in json.load(open('$here/search.json'))['space']['candidates']))")
/usr/bin/time -f "full wall %e s" layerorder compare --arch cnn2d --dataset mnist5k --epochs 3 --width 16 \
    --order "$orders" --seeds 5 --store $here/full.db --json --no-report \
    > $here/full.json 2> $here/full.log
