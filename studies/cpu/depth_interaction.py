"""The order x depth interaction of residual-units' ``units`` experiment at the cpu scale, with
every unit and with the units that fail to train at depth 110 left out (the figures beside
``depth-changes-answer`` in studies/cpu/README.md), by the same test the claim uses.
Run: python studies/cpu/depth_interaction.py   (reads studies/cpu/cpu.db)"""

import sys

from layerorder.stats.interaction import Observation, interaction_tests
from layerorder.store import Store

STORE = sys.argv[1] if len(sys.argv) > 1 else "studies/cpu/cpu.db"
SUBSETS = {
    "all five units": None,
    "BN after addition left out": {"original", "relu-before-add", "relu-only-preact",
                                   "full-preact"},
    "the three units above 50 % at every depth": {"original", "relu-only-preact", "full-preact"},
}
with Store.open(STORE, create=False, read_only=True) as db:
    (exp,) = [e for e in db.experiments() if e.name.startswith("study:residual-units/")
              and e.name.endswith("/units@cpu")]
    runs = [r for r in db.runs(exp.id) if r.final_test_acc is not None]
observations = [Observation(r.label, (("depth", r.config["depth"]),), r.seed, r.final_test_acc)
                for r in runs]
for name, units in SUBSETS.items():
    (found,) = interaction_tests([o for o in observations if units is None or o.label in units],
                                 ["depth"])
    print(f"{name}: p = {found.p:.2g} ({found.test}; anova {found.p_anova:.2g})")
