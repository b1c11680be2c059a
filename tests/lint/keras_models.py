"""Keras 3 models for the lint tests (TensorFlow-style layer orders); also CLI targets."""

from layerorder.modelgraph.keras_graph import import_keras

keras = import_keras()
layers = keras.layers


def _head(x):
    x = layers.Flatten(name="flatten")(x)
    return layers.Dense(10, activation="softmax", name="dense")(x)


def article():
    """conv2d -> batch_normalization -> relu -> dropout, as the TensorFlow article writes it
    (``use_bias`` left at its default, True)."""
    return keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            layers.Conv2D(8, 3, name="conv"),
            layers.BatchNormalization(name="bn"),
            layers.Activation("relu", name="relu"),
            layers.Dropout(0.3, name="drop"),
            layers.Flatten(name="flatten"),
            layers.Dense(10, activation="softmax", name="dense"),
        ]
    )


def dropout_bn():
    """The Dropout -> BatchNormalization variant: the variance shift."""
    return keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            layers.Conv2D(8, 3, use_bias=False, name="conv"),
            layers.ReLU(name="relu"),
            layers.Dropout(0.5, name="drop"),
            layers.BatchNormalization(name="bn"),
            layers.Flatten(name="flatten"),
            layers.Dense(10, name="dense"),
        ]
    )


def conv_activation_bn():
    """``Conv2D(activation="relu")`` then BatchNormalization: activation before the norm."""
    return keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            layers.Conv2D(8, 3, activation="relu", name="conv"),
            layers.BatchNormalization(name="bn"),
            layers.Flatten(name="flatten"),
            layers.Dense(10, name="dense"),
        ]
    )


def residual():
    """Functional, with a residual sum and a max-pool after a ReLU."""
    inputs = keras.Input((16, 16, 3), name="image")
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    y = layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv1")(x)
    y = layers.BatchNormalization(name="bn1")(y)
    x = layers.Add(name="add")([x, y])
    x = layers.ReLU(name="relu")(x)
    x = layers.MaxPooling2D(name="pool")(x)
    return keras.Model(inputs, _head(x))


def nested():
    """A Sequential block used inside a functional model."""
    block = keras.Sequential(
        [keras.Input((8, 8, 4)), layers.Conv2D(4, 3, padding="same", name="conv"),
         layers.BatchNormalization(name="bn"), layers.ReLU(name="relu")],
        name="block",
    )
    inputs = keras.Input((8, 8, 4))
    return keras.Model(inputs, _head(block(inputs)))


def unbuilt():
    """No Input: the layers in order, channel counts unknown."""
    return keras.Sequential(
        [layers.Conv2D(4, 3, name="conv"), layers.BatchNormalization(name="bn"),
         layers.ReLU(name="relu")]
    )


def padded_pool(activation):
    """``Conv2D(activation=...)`` -> ZeroPadding2D -> MaxPooling2D (VGG's layout, padded)."""
    return keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            layers.Conv2D(4, 3, activation=activation, name="conv"),
            layers.ZeroPadding2D(1, name="pad"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(10, name="dense"),
        ]
    )


class MyPReLU(layers.PReLU):
    """A user's own PReLU: read as one."""


def prelu_pool(kind=layers.PReLU):
    """Conv2D -> PReLU -> MaxPooling2D: the pool may go first only while every learned slope
    (alpha, zeros when built) stays >= 0."""
    return keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            layers.Conv2D(4, 3, name="conv"),
            kind(name="prelu"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(10, name="dense"),
        ]
    )
