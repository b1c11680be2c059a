"""The sweep driver hands every run it holds back to the store when interrupted."""

import pytest

from layerorder.experiment.configuration.config import make_config
from layerorder.experiment.execution.runner import run_sweep
from layerorder.store import Store, StoreError


def _config():
    return make_config(
        {
            "dataset": "synthetic",
            "arch": "mlp",
            "width": 8,
            "epochs": 1,
            "batch_size": 64,
            "orders": "standard",
            "seeds": 3,
            "executor": "sequential",
        }
    )


@pytest.mark.parametrize("interrupt_at", ["after_claim", "during_training"])
def test_interrupt_leaves_no_run_claimed(tmp_path, monkeypatch, interrupt_at):
    """Ctrl-C just after a claim commits (before the driver records it) or while a run trains."""
    claims = []
    real_claim = Store.claim_next

    def claim_then_interrupt(self, *args, **kwargs):
        run = real_claim(self, *args, **kwargs)
        claims.append(run)
        if interrupt_at == "after_claim" and len(claims) == 2:
            raise KeyboardInterrupt  # the claim is committed; the driver never sees the run
        return run

    monkeypatch.setattr(Store, "claim_next", claim_then_interrupt)
    if interrupt_at == "during_training":
        import layerorder.experiment.execution.executors as executors

        real_execute = executors.execute

        def execute_then_interrupt(task, *args, **kwargs):
            if len(claims) == 2:
                raise KeyboardInterrupt
            return real_execute(task, *args, **kwargs)

        monkeypatch.setattr(executors, "execute", execute_then_interrupt)
    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(KeyboardInterrupt):
            run_sweep(_config(), store)
        runs = store.runs(store.experiments()[0].id)
        assert [r.status for r in runs] == ["done", "pending", "pending"]
        assert all(r.owner is None for r in runs[1:])
        assert store.integrity_check() == "ok"
        summary = run_sweep(_config(), store)  # the restart trains what was handed back
        assert summary.trained == 2
        assert {r.status for r in store.runs(summary.experiment.id)} == {"done"}


def test_a_store_that_cannot_hand_back_keeps_the_original_error(tmp_path, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise StoreError("cannot write store: disk I/O error")

    def interrupt(task, *args, **kwargs):
        raise KeyboardInterrupt

    import layerorder.experiment.execution.executors as executors

    monkeypatch.setattr(Store, "release_owned", refuse)
    monkeypatch.setattr(executors, "execute", interrupt)
    with Store.open(tmp_path / "s.db") as store:
        with pytest.raises(KeyboardInterrupt):  # not the StoreError of the hand-back
            run_sweep(_config(), store)


def test_runs_an_executor_never_answered_are_handed_back(tmp_path, monkeypatch):
    import layerorder.experiment.execution.runner as runner

    class Forgetful:
        """Takes every task and returns an outcome for the first only."""

        def execute(self, tasks, progress=None):
            from layerorder.experiment.execution.worker import execute

            first, *_ = list(tasks)
            yield execute(first)

    monkeypatch.setattr(runner, "make_executor", lambda *a, **k: Forgetful())
    with Store.open(tmp_path / "s.db") as store:
        summary = run_sweep(_config(), store)
        assert summary.trained == 1
        runs = store.runs(summary.experiment.id)
        assert [r.status for r in runs] == ["done", "pending", "pending"]


def test_rounds_share_one_worker_pool(tmp_path):
    """--until-decided's rounds train in the same worker processes (one start, one load of the
    data), and the pool ends with the comparison."""
    import multiprocessing

    from layerorder.experiment.execution.comparison import run_comparison

    config = make_config({"dataset": "synthetic", "arch": "mlp", "width": 8, "epochs": 1,
                          "batch_size": 64, "orders": "standard,no-norm", "seeds": 2,
                          "until_decided": True, "max_seeds": 4, "margin": 0.01,
                          "executor": "process", "workers": 2})
    result = run_comparison(config, tmp_path / "s.db")
    pids = {r.provenance["pid"] for r in result.runs}
    seeds = {r.seed for r in result.runs}
    assert len(seeds) == 4, "the tiny margin leaves the pair undecided at the first look"
    assert len(pids) <= 2  # both rounds in the same two workers
    assert not multiprocessing.active_children()


def _scores(trial):
    """Deterministic scores: standard and preact alike (noise 0.1), no-norm 40 points lower."""
    import random

    noise = random.Random(f"{trial.order}-{trial.seed}").gauss(0.0, 0.1)
    trial.report(1, score=(50.0 if trial.order == "no-norm" else 90.0) + noise)


def test_later_rounds_train_only_the_orders_of_undecided_pairs(tmp_path):
    """no-norm's pairs are decided at the first look (3 seeds); standard vs preact is not, so
    the second round trains those two alone, and the analysis of every round's runs keeps
    no-norm's first seeds. The same command again trains nothing and decides the same."""
    import layerorder

    settings = dict(train=_scores, metric="score", metric_range=(0, 100),
                    orders=["standard", "preact", "no-norm"], seeds=3, max_seeds=6,
                    until_decided=True, executor="sequential", progress=False,
                    store=tmp_path / "s.db")
    first = layerorder.compare(**settings)
    seeds = {label: sorted(r.seed for r in first.runs if r.label == label)
             for label in ("standard", "preact", "no-norm")}
    assert len(seeds["no-norm"]) == 3 and len(seeds["standard"]) == len(seeds["preact"]) == 6
    assert first.trained == 3 * 3 + 2 * 3
    decided = {(d.a, d.b): d.decided_at for d in first.analysis.decisions}
    assert {k: v for k, v in decided.items() if "no-norm" in k} == {
        ("standard", "no-norm"): 3, ("preact", "no-norm"): 3}
    assert "3-6 seeds per order" in first.title
    again = layerorder.compare(**settings)
    assert again.trained == 0
    assert [d.decision for d in again.analysis.decisions] == [
        d.decision for d in first.analysis.decisions]
