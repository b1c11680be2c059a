"""--until-decided rounds: the seeds each round trains, in the order they are added, and the
design the analysis replays."""

from layerorder.experiment.configuration.config import make_config, seed_order
from layerorder.experiment.configuration.plan import analysis_plan
from layerorder.experiment.configuration.rounds import rounds


def test_until_decided_rounds_and_seed_order():
    cfg = make_config({"until_decided": True, "seeds": "3,7", "max_seeds": 5})
    assert seed_order(cfg) == (3, 7, 0, 1, 2)
    assert [r.seeds for r in rounds(cfg)] == [(3, 7), (3, 7, 0, 1), (3, 7, 0, 1, 2)]
    plan = analysis_plan(cfg)
    assert plan.looks == (2, 4, 5) and plan.seed_order == (3, 7, 0, 1, 2)
    assert rounds(make_config({})) == [make_config({})]
    assert cfg.grid()["sequential"] == {"looks": [2, 4, 5], "seeds": [3, 7, 0, 1, 2]}
