"""``trial.hf_callback()`` in a real Hugging Face ``Trainer.train`` (CPU, a small model of its
own): each evaluation reported at its epoch with what the Trainer itself logged for it
(``state.log_history``, the reference); a Trainer that never evaluates reports its training logs."""

import numpy as np
import pytest
import torch
from torch import nn

from layerorder.trials import Trial, TrialError

EPOCHS = 3


@pytest.fixture(scope="module")
def hf():
    """transformers' Trainer, imported by the tests that use it, not at collection."""
    pytest.importorskip("accelerate", reason="accelerate is not installed (Trainer needs it)")
    return pytest.importorskip("transformers", reason="transformers is not installed")


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, x, labels=None):
        logits = self.body(x)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = nn.functional.cross_entropy(logits, labels)
        return out


class _Data(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int):
        self.x = torch.randn(n, 6, generator=torch.Generator().manual_seed(seed))
        self.y = self.x[:, :3].argmax(1)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.y[i]}


def _train(hf, tmp_path, callback, **args):
    settings = dict(output_dir=str(tmp_path), num_train_epochs=EPOCHS, learning_rate=0.05,
                    per_device_train_batch_size=30, eval_strategy="epoch",
                    logging_strategy="epoch", save_strategy="no", report_to=[], use_cpu=True,
                    disable_tqdm=True, seed=0)
    trainer = hf.Trainer(
        model=_Net(), args=hf.TrainingArguments(**{**settings, **args}), train_dataset=_Data(90, 0),
        eval_dataset=_Data(60, 1), callbacks=[callback],
        compute_metrics=lambda p: {"accuracy": float((np.argmax(p.predictions, -1)
                                                      == p.label_ids).mean())})
    trainer.train()
    return trainer


def test_each_evaluation_is_reported_at_its_epoch_with_what_the_trainer_logged(hf, tmp_path):
    trial = Trial("linear-bn-relu", 0)
    trainer = _train(hf, tmp_path, trial.hf_callback())
    evaluations = [h for h in trainer.state.log_history if "eval_loss" in h]
    trained = [h for h in trainer.state.log_history if "loss" in h]
    assert sorted(trial.reported.epochs) == list(range(1, EPOCHS + 1)) == [
        int(h["epoch"]) for h in evaluations]
    for epoch, evaluation, training in zip(range(1, EPOCHS + 1), evaluations, trained):
        got = trial.reported.epochs[epoch]
        assert got["eval_loss"] == pytest.approx(evaluation["eval_loss"])
        assert got["eval_accuracy"] == pytest.approx(evaluation["eval_accuracy"])
        assert got["loss"] == pytest.approx(training["loss"])  # the epoch's training loss
        assert "epoch" not in got
    assert len({m["loss"] for m in trial.reported.epochs.values()}) == EPOCHS
    # an evaluation after training (here on other data) is the run's final metrics, and leaves
    # every epoch as it was
    epochs = {e: dict(m) for e, m in trial.reported.epochs.items()}
    after = trainer.evaluate(_Data(60, 2))
    assert trial.reported.epochs == epochs
    assert trial.reported.final["eval_loss"] == pytest.approx(after["eval_loss"])
    assert trial.reported.final["eval_loss"] != pytest.approx(epochs[EPOCHS]["eval_loss"])
    assert trial.reported.final_metrics()["eval_loss"] == pytest.approx(after["eval_loss"])


def test_an_evaluation_before_training_is_epoch_0(hf, tmp_path):
    trial = Trial("linear-bn-relu", 0)
    trainer = _train(hf, tmp_path, trial.hf_callback(), eval_on_start=True)
    first = next(h for h in trainer.state.log_history if "eval_loss" in h)
    assert sorted(trial.reported.epochs) == list(range(0, EPOCHS + 1))
    assert trial.reported.epochs[0]["eval_loss"] == pytest.approx(first["eval_loss"])
    assert "loss" not in trial.reported.epochs[0]  # nothing trained yet
    assert trial.reported.final is None


def test_evaluations_and_logs_by_steps_report_their_epochs_last_and_own(hf, tmp_path):
    """Three steps an epoch, an evaluation every second step and a training log every fifth:
    each epoch reports its last evaluation, with a training loss only where one was logged in
    that epoch (step 5, in epoch 2), never one of an earlier epoch."""
    trial = Trial("linear-bn-relu", 0)
    trainer = _train(hf, tmp_path, trial.hf_callback(), eval_strategy="steps", eval_steps=2,
                     logging_strategy="steps", logging_steps=5)
    evaluations = [h for h in trainer.state.log_history if "eval_loss" in h]
    # epochs 1, 2, 2, 3, 3 (the Trainer evaluates at its last step too)
    assert [h["step"] for h in evaluations] == [2, 4, 6, 8, 9]
    assert sorted(trial.reported.epochs) == [1, 2, 3]
    assert [trial.reported.epochs[e]["eval_loss"] for e in (1, 2, 3)] == pytest.approx(
        [evaluations[0]["eval_loss"], evaluations[2]["eval_loss"], evaluations[4]["eval_loss"]])
    assert len({h["eval_loss"] for h in evaluations}) == 5  # the last one does stand
    (logged,) = [h for h in trainer.state.log_history if "loss" in h]
    assert logged["step"] == 5
    assert trial.reported.epochs[2]["loss"] == pytest.approx(logged["loss"])
    assert "loss" not in trial.reported.epochs[1] and "loss" not in trial.reported.epochs[3]


def test_names_choose_and_a_trainer_that_never_evaluates_reports_its_training(hf, tmp_path):
    with pytest.raises(TrialError, match="may not be named 'epoch'"):
        Trial("linear-bn-relu", 0).hf_callback("epoch")
    trial = Trial("linear-bn-relu", 0)
    _train(hf, tmp_path, trial.hf_callback("eval_accuracy"))
    assert all(set(m) == {"eval_accuracy"} for m in trial.reported.epochs.values())
    assert len(trial.reported.epochs) == EPOCHS

    trial = Trial("linear-bn-relu", 0)
    trainer = _train(hf, tmp_path, trial.hf_callback(), eval_strategy="no")
    trained = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert [trial.reported.epochs[e]["loss"] for e in range(1, EPOCHS + 1)] == pytest.approx(
        trained)
    assert not any(k.startswith("eval_") for m in trial.reported.epochs.values() for k in m)
