"""``trial.keras_callback()`` in a real ``model.fit`` (Keras 3 on the PyTorch backend): each
epoch's logs reported once, equal to Keras's own history (the reference)."""

import numpy as np
import pytest

from layerorder.trials import Trial, TrialError

EPOCHS = 3
# Keras's torch backend converts with numpy's pre-2.0 __array__ protocol, once per batch
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def keras():
    """Keras on the PyTorch backend, imported by the tests that use it, not at collection."""
    from layerorder.modelgraph.keras_graph import keras_backend

    with keras_backend():
        return pytest.importorskip("keras", reason="Keras 3 is not installed")


def _fit(keras, *callbacks):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype("float32")
    y = x[:, :3].argmax(1)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16),
                              keras.layers.BatchNormalization(), keras.layers.Activation("relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x[:90], y[:90], validation_data=(x[90:], y[90:]), epochs=EPOCHS,
                        batch_size=30, verbose=0, callbacks=list(callbacks))
    return history.history


def test_every_epoch_is_reported_with_kerass_own_history(keras):
    trial = Trial("dense-bn-relu", 0)
    history = _fit(keras, trial.keras_callback())
    assert sorted(trial.reported.epochs) == list(range(1, EPOCHS + 1))
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert [trial.reported.epochs[e][name] for e in range(1, EPOCHS + 1)] == pytest.approx(
            history[name]), name
    assert len({m["loss"] for m in trial.reported.epochs.values()}) == EPOCHS


def test_names_choose_what_is_reported(keras):
    trial = Trial("dense-bn-relu", 0)
    history = _fit(keras, trial.keras_callback("val_accuracy"))
    assert [trial.reported.epochs[e] for e in range(1, EPOCHS + 1)] == [
        {"val_accuracy": pytest.approx(v)} for v in history["val_accuracy"]]


def test_a_log_of_several_numbers_is_left_out_unless_named(keras):
    """A per-class score (``F1Score(average=None)`` logs an array) is no metric to compare: left
    out of everything, refused when named."""

    class PerClass(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["per_class"] = np.array([0.5, 0.25, 0.75])

    trial = Trial("dense-bn-relu", 0)
    _fit(keras, PerClass(), trial.keras_callback())
    assert sorted(trial.reported.epochs) == list(range(1, EPOCHS + 1))
    assert all("per_class" not in m and "val_loss" in m for m in trial.reported.epochs.values())
    with pytest.raises(TrialError, match="metric 'per_class' must be a number"):
        _fit(keras, PerClass(), Trial("dense-bn-relu", 0).keras_callback("per_class"))


def test_a_log_named_as_the_metrics_files_own_keys_is_left_out_or_refused_before_fitting(keras):
    """Another callback's ``logs["epoch"]`` is not reported (and does not stop the fit); asking
    for it by name is refused when the callback is made."""

    class Epoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["epoch"] = epoch

    trial = Trial("dense-bn-relu", 0)
    _fit(keras, Epoch(), trial.keras_callback())
    assert sorted(trial.reported.epochs) == list(range(1, EPOCHS + 1))
    assert all("epoch" not in m for m in trial.reported.epochs.values())
    with pytest.raises(TrialError, match="may not be named 'epoch'"):
        trial.keras_callback("val_loss", "epoch")
