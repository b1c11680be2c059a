"""results.md of one scale of this study: the full comparison's ranking beside each search round's
ranking and the search's final (fresh-seed) means, and how well each round predicted the full
ranking (Spearman, scipy). Usage: python table.py epochs-N > epochs-N/results.md"""

import json
import sys
from pathlib import Path

from scipy.stats import spearmanr

here = Path(sys.argv[1])
search = json.loads((here / "search.json").read_text())
full = json.loads((here / "full.json").read_text())
epochs = search["plan"]["epochs"]

full_rows = sorted(full["rows"], key=lambda r: -r["summary"]["mean"])
full_rank = {r["label"]: i for i, r in enumerate(full_rows, 1)}
final = {r["label"]: r["summary"] for r in search["final"]["rows"]}
rounds = search["rounds"]

head = ["full rank", "order", f"full: mean ± SD (5 seeds, {epochs} epochs)"]
for r in rounds:
    p = r["plan"]
    head.append(f"round {p['index'] + 1}: rank, mean ({len(p['seeds'])} seeds, {p['epochs']} ep)")
head.append("search final: mean ± SD (fresh seeds)")
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for i, row in enumerate(full_rows, 1):
    s = row["summary"]
    cells = [str(i), row["label"], f"{s['mean']:.2f} ± {s['sd']:.2f}"]
    for r in rounds:
        ranked = [x["order"] for x in r["scores"]]
        score = next((x for x in r["scores"] if x["order"] == row["label"]), None)
        mean = score.get("mean", score.get("mean_acc")) if score else None  # older files: mean_acc
        cells.append(f"{ranked.index(row['label']) + 1}, {mean:.2f}" if score else "")
    f = final.get(row["label"])
    cells.append(f"{f['mean']:.2f} ± {f['sd']:.2f} (n={f['n']})" if f else "")
    print("| " + " | ".join(cells) + " |")

print()
print(f"search picks **{search['best']}**; the full comparison ranks it"
      f" {full_rank[search['best']]} of {len(full_rows)} and ranks first"
      f" **{full_rows[0]['label']}**.")
decided = [d for d in full["decisions"] if d["decision"] == "different"]
equivalent = [d for d in full["decisions"] if d["decision"] == "equivalent"]
p_min = min(d["p_holm"] for d in full["decisions"])
print(f"full comparison: {len(decided)} of {len(full['decisions'])} pairs decided different,"
      f" {len(equivalent)} equivalent within ±{full['margin']:g} points; smallest Holm p ="
      f" {p_min:.3g}.")
for r in rounds:
    orders = [x["order"] for x in r["scores"]]
    rho, p = spearmanr([x.get("mean", x.get("mean_acc")) for x in r["scores"]],
                       [full_rows[full_rank[o] - 1]["summary"]["mean"] for o in orders])
    lost = [o for o in r["dropped"] if full_rank[o] <= 3]
    print(f"round {r['plan']['index'] + 1} ({r['plan']['epochs']} epochs) vs full: Spearman rho ="
          f" {rho:.2f} (p = {p:.2g}) over {len(orders)} orders; dropped from the full top 3:"
          f" {', '.join(lost) or 'none'}.")

# Spellings the current layerorder merges (the model built and run: the same network) that this
# run still trained as separate orders: their full-comparison differences are seed noise alone.
from layerorder.api import make_experiment  # noqa: E402
from layerorder.search import experiment_space  # noqa: E402

config = make_experiment({"arch": "cnn2d", "dataset": "mnist5k", "epochs": epochs, "width": 16,
                          "orders": ("standard",)}, notes=lambda _: None)
trained = {c["spec"] for c in search["space"]["candidates"]}
pairs = [(c.spec, other) for c in experiment_space(config).candidates for other in c.same_as
         if c.spec in trained and other in trained]
if pairs:
    print()
    print("Trained as separate orders, one network (the current space merges them):")
    for a, b in pairs:
        d = next(d for d in full["decisions"] if {d["a"], d["b"]} == {a, b})
        print(f"- {a} and {b}: full comparison {d['a']} - {d['b']} = {d['mean_diff']:+.2f}"
              f" points (95% CI {d['ci_low']:+.2f} to {d['ci_high']:+.2f}), Holm p ="
              f" {d['p_holm']:.3g}, {d['decision']}.")
