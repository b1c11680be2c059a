# docs/findings.md: every built-in study at the quick scale on a 2-core CPU, then the findings page.
# The first command trains what quick.db lacks (a second run trains nothing); the second reads
# quick.db alone.
layerorder study run --all --scale quick --store studies/findings/quick.db
layerorder study report --all --scale quick --store studies/findings/quick.db --format md -o docs/findings.md
