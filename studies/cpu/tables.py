"""Each cpu-scale experiment's final test accuracy per order and condition: mean, SD over every
run that finished (failed ones included), the worst run, and how many diverged or ended within
5 points of chance (the reliability analysis's definition of a failed run).
Run: python studies/cpu/tables.py > studies/cpu/tables.md   (reads studies/cpu/cpu.db)"""

import statistics
import sys

from layerorder.experiment.execution.comparison import stored_comparison
from layerorder.experiment.execution.runner import load_checked_data
from layerorder.store import Store
from layerorder.studies import builtin_studies

STORE = sys.argv[1] if len(sys.argv) > 1 else "studies/cpu/cpu.db"
print("# Final test accuracy per order and condition at the cpu scale\n")
print(f"From `{STORE}` by `python studies/cpu/tables.py`. SD over every finished run (failed "
      "ones included); failed: diverged, or within 5 points of chance.\n")
with Store.open(STORE, create=False, read_only=True) as db:
    for study in builtin_studies():
        for spec in study.experiments_at("cpu"):
            config = study.config(spec.id, "cpu")
            results = stored_comparison(config, db)
            if results is None:
                continue
            chance = load_checked_data(config).chance
            factors = [f for f, _ in config.vary if f != "lr" or len(config.lr) == 1] or []
            print(f"## {config.name}\n")
            print("| condition | order | n | mean % | SD | worst % | diverged | at chance |")
            print("|---|---|---|---|---|---|---|---|")
            groups: dict[tuple, list] = {}
            for run in results.runs:
                if run.status not in ("done", "diverged"):
                    continue
                cond = ", ".join(f"{f}={results.analysis.plan.level_of(run, f)}" for f, _ in config.vary)
                groups.setdefault((cond, run.label), []).append(run)
            for (cond, label), runs in groups.items():
                accs = [r.final_test_acc for r in runs if r.status == "done"
                        and r.final_test_acc is not None]
                diverged = sum(r.status == "diverged" for r in runs)
                at_chance = sum(a <= chance + 5 for a in accs)
                sd = statistics.stdev(accs) if len(accs) > 1 else float("nan")
                mean = statistics.mean(accs) if accs else float("nan")
                worst = min(accs) if accs else float("nan")
                print(f"| {cond or '-'} | {label} | {len(runs)} | {mean:.1f} | {sd:.1f} | "
                      f"{worst:.1f} | {diverged} | {at_chance} |")
            print()
