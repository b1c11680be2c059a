# docs/findings-quick.md (first written as docs/findings.md): every built-in study at the quick scale on a 2-core CPU, then the findings page
# and the compact JSON of each claim's evidence.
layerorder study run --all --scale quick --store studies/findings/quick.db
layerorder study report --all --scale quick --store studies/findings/quick.db --format md -o docs/findings-quick.md
layerorder study report --all --scale quick --store studies/findings/quick.db --format json -o studies/findings/claims.json
