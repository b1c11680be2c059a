"""A Keras 3 script (PyTorch backend) whose convolution blocks follow an order from its command
line: Conv2D -> BatchNormalization -> ReLU -> Dropout, the placement that puts Dropout after the
last BN (Li et al. 2019's advice), against Dropout before BN (conv-relu-drop-bn):

    layerorder compare --command 'python examples/keras_order.py --order {order} --seed {seed}' \
        --order conv-bn-relu-drop,conv-relu-drop-bn --seeds 5 --metric val_accuracy

It reports Keras's own ``val_accuracy`` and ``val_loss`` after every epoch through the trial's
Keras callback (``trial.keras_callback``). Run alone, it trains its default order once.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import layerorder  # noqa: E402


def block(order: str, filters: int, rate: float) -> list:
    """The layers of one block, in the order's sequence of stages."""
    make = {
        "conv": lambda: keras.layers.Conv2D(filters, 3, padding="same"),
        "bn": lambda: keras.layers.BatchNormalization(),
        "relu": lambda: keras.layers.Activation("relu"),
        "drop": lambda: keras.layers.Dropout(rate),
    }
    return [make[token]() for token in order.split("-")]


def make_data(n: int = 600):
    """Bars at one of four angles in 12x12 images with noise (channels last), the same every run."""
    rng = np.random.default_rng(1234)
    y = rng.integers(0, 4, n)
    x = 0.6 * rng.standard_normal((n, 12, 12, 1)).astype("float32")
    for i, label in enumerate(y):
        if label == 0:
            x[i, 5:7, :, 0] += 1.5
        elif label == 1:
            x[i, :, 5:7, 0] += 1.5
        else:
            x[i, :, :, 0] += 1.5 * (np.eye(12) if label == 2 else np.fliplr(np.eye(12)))
    cut = n * 2 // 3
    return x[:cut], y[:cut], x[cut:], y[cut:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--order", default="conv-bn-relu-drop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rate", type=float, default=0.3)
    args = parser.parse_args()
    trial = layerorder.trial(order=args.order, seed=args.seed)
    keras.utils.set_random_seed(trial.seed)
    x_train, y_train, x_val, y_val = make_data()
    order = str(trial.order)
    model = keras.Sequential([
        keras.Input((12, 12, 1)),
        *block(order, 16, args.rate),
        keras.layers.MaxPooling2D(2),
        *block(order, 32, args.rate),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(4, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs,
                        batch_size=50, verbose=0,
                        callbacks=[trial.keras_callback("val_accuracy", "val_loss")])
    print(f"{order} seed {trial.seed}: val_accuracy {history.history['val_accuracy'][-1]:.4f}")


if __name__ == "__main__":
    main()
