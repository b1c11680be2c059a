# The pooling-placement comparison of issue 17: four placements, cnn2d on mnist5k, 5 seeds.
layerorder compare --dataset mnist5k --arch cnn2d --epochs 5 \
  --order conv-bn-relu-maxpool,conv-relu-maxpool-bn,conv-maxpool-bn-relu,conv-relu-bn-maxpool \
  --seeds 5 --probe --store pooling.db --report-path pooling-report.html --json
