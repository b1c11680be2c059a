"""A small probed experiment with every kind of run, shared by the report tests."""

import pytest

from layerorder.cli.app import main


@pytest.fixture(scope="session")
def probed_store(tmp_path_factory):
    """Two orders x 3 seeds x 2 learning rates, probed, with one failing run."""
    from layerorder.experiment.execution import worker

    db = tmp_path_factory.mktemp("rep") / "s.db"
    real = worker.train

    def flaky(model, data, cfg, **kw):
        if cfg.seed == 2 and cfg.order == "no-norm" and cfg.lr == 0.1:
            raise RuntimeError("simulated failure")
        return real(model, data, cfg, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(worker, "train", flaky)
    try:
        with pytest.raises(SystemExit) as info:
            main(
                [
                    *map(
                        str,
                        [
                            "compare",
                            "--data-opt",
                            "num_samples=500",
                            "--epochs",
                            "3",
                            "--order",
                            "standard,no-norm",
                            "--seeds",
                            "3",
                            "--lr",
                            "0.1,1000",
                            "--optimizer",
                            "sgd",
                            "--probe",
                            "--executor",
                            "sequential",
                            "--name",
                            "<script>alert(1)</script>",
                            "--store",
                            db,
                            "--no-report",
                        ],
                    )
                ]
            )
        assert info.value.code == 0
    finally:
        mp.undo()
    return db
