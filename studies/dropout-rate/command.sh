#!/bin/sh
# Does the cost of Dropout before BN depend on the drop rate? (Li et al. 2019: the variance
# shift grows with p.) standard vs drop-before-bn on MNIST-1D / cnn1d, 10 seeds, at p = 0.1 and 0.5.
# Run from the repository root; a second run trains nothing and re-analyses the stored runs.
layerorder compare -o standard -o drop-before-bn --seeds 10 --vary p_drop=0.1,0.5 \
    --baseline standard --store studies/dropout-rate/results.db \
    --report-path studies/dropout-rate/report.html --json > studies/dropout-rate/result.json
