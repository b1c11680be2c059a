#!/usr/bin/env bash
# The search against the full comparison it replaces: cnn2d on mnist5k, every candidate order of
# the standard block (conv-bn-relu-drop), at a scale a 2-core CPU runs: EPOCHS epochs per full run
# (first argument, default 3), width 16. Outputs in epochs-EPOCHS/ beside this file; run from
# anywhere. epochs-3 took about 17 minutes, epochs-10 about 75 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
ep=${1:-3}
here=studies/search-mnist5k/epochs-$ep
mkdir -p $here
layerorder search --arch cnn2d --dataset mnist5k --epochs $ep --width 16 --dry-run > $here/plan.txt
/usr/bin/time -f "search wall %e s" layerorder search --arch cnn2d --dataset mnist5k --epochs $ep \
    --width 16 --store $here/search.db --report-path $here/search-report.html --json \
    > $here/search.json 2> $here/search.log
orders=$(python -c "import json; print(','.join(c['spec'] for c in json.load(open('$here/search.json'))['space']['candidates']))")
/usr/bin/time -f "full wall %e s" layerorder compare --arch cnn2d --dataset mnist5k --epochs $ep \
    --width 16 --order "$orders" --seeds 5 --store $here/full.db --json --no-report \
    > $here/full.json 2> $here/full.log
python studies/search-mnist5k/table.py $here > $here/results.md
