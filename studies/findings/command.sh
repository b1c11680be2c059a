# docs/findings.md: every built-in study at the quick scale on a 2-core CPU, then the findings page.
layerorder study run --all --scale quick --store studies/findings/quick.db
layerorder study report --all --scale quick --store studies/findings/quick.db --format md -o docs/findings.md
# this stop's page (transformer-warmup was still training when it was written):
# layerorder study report bn-activation dropout-bn learning-rate pooling residual-units --scale quick --store studies/findings/quick.db --format md -o docs/findings.md
