"""The role graph of a Keras 3 model, so the same census and rules read Keras layer orders.

Sequential and functional models (nested ones included) are read from Keras's own node graph:
each layer call is a node whose input and output tensors give the edges. An ``activation=``
argument inside ``Conv*``/``Dense`` becomes its own activation node after the weight node, so
``Conv2D(activation="relu") -> BatchNormalization`` is an activation before the norm, exactly as
``Conv2D -> ReLU -> BatchNormalization`` is.

Keras runs on any backend; with neither TensorFlow nor JAX installed, ``import_keras`` selects the
PyTorch backend (``KERAS_BACKEND=torch``) while Keras is first imported, unless the user already
chose one; the environment is restored afterwards.

Subclassed models (``call()`` written in Python) have no layer graph to read and are refused.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import os
import sys
from collections.abc import Hashable, Iterator
from dataclasses import replace
from typing import Any

from layerorder.activations import VARYING_SLOPE, is_monotone, maps_zero_to_zero, sign_setting
from layerorder.modelgraph.errors import LintError, short_reason
from layerorder.modelgraph.extras import install_hint
from layerorder.modelgraph.graph import GraphBuilder, RoleGraph, RoleNode
from layerorder.modelgraph.reach import ZERO_PAD
from layerorder.modelgraph.roles import TRANSPARENT

CONV_CLASSES = ("Conv1D", "Conv2D", "Conv3D")
OTHER_CONVS = (
    "Conv1DTranspose Conv2DTranspose Conv3DTranspose SeparableConv1D SeparableConv2D"
    " DepthwiseConv1D DepthwiseConv2D"
)

# weight layers a BatchNorm folds into exactly (per output or input channel), as torch's Conv2d
# (groups=channels included) and Linear: a depthwise kernel scales per channel like any other
FOLDABLE = (*CONV_CLASSES, "DepthwiseConv1D", "DepthwiseConv2D", "Dense")

# (role, kind) per Keras layer class name; a subclass matches through its class hierarchy
LAYER_TABLE: dict[str, tuple[str, str]] = {
    **{name: ("weight", "conv") for name in CONV_CLASSES},
    **{name: ("weight", "conv") for name in OTHER_CONVS.split()},
    "Dense": ("weight", "linear"),
    "EinsumDense": ("weight", "linear"),
    "BatchNormalization": ("norm", "bn"),
    "LayerNormalization": ("norm", "ln"),
    "GroupNormalization": ("norm", "gn"),
    "RMSNormalization": ("norm", "rms"),
    "ReLU": ("act", "relu"),
    "LeakyReLU": ("act", "leakyrelu"),
    "PReLU": ("act", "prelu"),
    "ELU": ("act", "elu"),
    "Softmax": ("other", "softmax"),
    "Activation": ("act", ""),  # the kind is its activation function's name
    "Dropout": ("dropout", "drop"),
    "AlphaDropout": ("dropout", "drop"),
    "GaussianDropout": ("dropout", "drop"),
    **{f"SpatialDropout{d}D": ("dropout", "dropch") for d in (1, 2, 3)},
    **{f"MaxPooling{d}D": ("pool", "maxpool") for d in (1, 2, 3)},
    **{f"GlobalMaxPooling{d}D": ("pool", "maxpool") for d in (1, 2, 3)},
    **{f"AveragePooling{d}D": ("pool", "avgpool") for d in (1, 2, 3)},
    **{f"GlobalAveragePooling{d}D": ("pool", "avgpool") for d in (1, 2, 3)},
    "Add": ("add", "add"),
    "Concatenate": ("concat", "cat"),
    "Subtract": ("other", "sub"),
    "Average": ("other", "mean"),
    "Multiply": ("other", "mul"),
    **{name: ("reshape", name.lower()) for name in ("Flatten", "Reshape", "Permute")},
    **{f"ZeroPadding{d}D": ("other", ZERO_PAD) for d in (1, 2, 3)},
    **{f"Cropping{d}D": ("reshape", "crop") for d in (1, 2, 3)},
    "Identity": (TRANSPARENT, ""),
    "InputLayer": (TRANSPARENT, ""),
}
LINEAR_OTHER = frozenset({"sub", "mean", ZERO_PAD})

# Keras activation names -> layerorder kinds (order-spec tokens where one exists)
ACTIVATION_KINDS = {
    "relu": "relu",
    "relu6": "relu6",
    "leaky_relu": "leakyrelu",
    "elu": "elu",
    "selu": "selu",
    "celu": "celu",
    "gelu": "gelu",
    "silu": "silu",
    "swish": "silu",
    "mish": "mish",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "hard_sigmoid": "hardsigmoid",
    "hard_silu": "hardswish",
    "hard_swish": "hardswish",
    "softplus": "softplus",
    "softsign": "softsign",
    "exponential": "exp",
    "log_sigmoid": "logsigmoid",
}
NOT_ELEMENTWISE = frozenset({"softmax", "log_softmax"})


@contextlib.contextmanager
def keras_backend() -> Iterator[None]:
    """While Keras may be first imported (by ``import_keras`` or a target's own code): the PyTorch
    backend when no backend was chosen and neither TensorFlow nor JAX is installed (the Keras
    default, TensorFlow, would fail to import). ``KERAS_BACKEND`` is restored afterwards."""
    if "keras" in sys.modules or "KERAS_BACKEND" in os.environ:
        yield
        return
    if any(importlib.util.find_spec(name) for name in ("tensorflow", "jax")):
        yield
        return
    os.environ["KERAS_BACKEND"] = "torch"
    try:
        yield
    finally:
        os.environ.pop("KERAS_BACKEND", None)


def import_keras() -> Any:
    """Import Keras 3 (see ``keras_backend``)."""
    try:
        with keras_backend():
            keras = importlib.import_module("keras")
    except ImportError as exc:
        raise LintError(
            f"linting a Keras model needs Keras 3: {install_hint('keras')} ({short_reason(exc)})"
        ) from exc
    if not str(getattr(keras, "__version__", "0")).startswith("3"):
        raise LintError(f"Keras {keras.__version__} is installed; layerorder reads Keras 3 models")
    return keras


def is_keras_model(obj: Any) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.Model)


def load_keras_file(path: str) -> Any:
    keras = import_keras()
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise LintError(
            f"cannot load Keras model '{path}': {short_reason(exc)} (custom layers must be"
            " importable, or lint the factory that builds the model: FILE.py:FACTORY)"
        ) from exc


def _entry(layer: Any) -> tuple[str, str]:
    for cls in type(layer).__mro__:
        if cls.__name__ in LAYER_TABLE:
            return LAYER_TABLE[cls.__name__]
    return "other", type(layer).__name__.lower()


def _activation_name(function: Any) -> str:
    name = getattr(function, "__name__", None) or type(function).__name__
    return str(name).lower()


def _slope(layer: Any, kind: str) -> float | None:
    """The least slope, or scale, of an activation layer's negative side: a learned one (PReLU
    and its subclasses) from the layer's weights, None before the layer is built; else its
    ``sign`` setting (LeakyReLU's ``negative_slope``, ELU's ``alpha``), else 0 (a ReLU layer's
    slope, which keras keeps >= 0, and an ``Activation`` layer's function, named by string with
    keras's non-negative defaults)."""
    if kind in VARYING_SLOPE:
        weights = [w for w in layer.get_weights() if w.size]
        return min(float(w.min()) for w in weights) if weights else None
    setting = sign_setting(kind)
    value = getattr(layer, setting[0], None) if setting is not None else None
    return 0.0 if value is None else float(value)


def _keeps_zero(layer: Any, kind: str) -> bool | None:
    """Whether a ReLU layer's settings keep 0 at 0: keras subtracts ``negative_slope *
    relu(threshold - x)`` after clipping at ``max_value``, so 0 goes to ``-negative_slope *
    threshold`` (a threshold is never negative). None for other layers (their kind decides)."""
    threshold = getattr(layer, "threshold", None)
    if kind != "relu" or threshold is None:
        return None
    return not threshold or not layer.negative_slope


def _act_spec(name: str, path: str, type_name: str, fused: str = "", source: Any = None):
    """The activation ``name`` computed by ``source`` (a layer, or an activation function
    given as ``activation=``)."""
    if name in ("linear", "identity"):
        return None
    if name in NOT_ELEMENTWISE:
        return RoleNode("other", name, path, "module", type_name, fused=fused)
    kind = ACTIVATION_KINDS.get(name, name)
    keeps_zero = None
    if hasattr(source, "get_weights"):  # a layer (PReLU as a Dense's activation= included)
        slope, keeps_zero = _slope(source, kind), _keeps_zero(source, kind)
    else:  # a function: keras's defaults, non-negative; a learned slope is not known
        slope = None if kind in VARYING_SLOPE else 0.0
    return RoleNode("act", kind, path, "module", type_name, fused=fused,
                    monotone=is_monotone(kind, slope), zero=maps_zero_to_zero(kind, keeps_zero))


def _shape(tensor: Any) -> tuple[int | None, ...] | None:
    shape = getattr(tensor, "shape", None)
    return None if shape is None else tuple(shape)


def _channels(shape: tuple[int | None, ...] | None, layer: Any) -> int | None:
    """Channels of a weight layer's input or output (its ``data_format``), or of a norm (its
    ``axis``: BatchNormalization(axis=1) normalises channels-first data)."""
    if not shape or len(shape) < 2:
        return None
    axis = getattr(layer, "axis", None)
    if isinstance(axis, (list, tuple)):
        axis = axis[0] if len(axis) == 1 else None
    if axis is None:
        axis = 1 if getattr(layer, "data_format", "channels_last") == "channels_first" else -1
    try:
        return shape[axis]
    except IndexError:
        return None


def _numel(shape: tuple[int | None, ...] | None) -> int | None:
    """Elements per sample (batch size 1), when every other size is known."""
    if not shape or any(s is None for s in shape[1:]):
        return None
    return math.prod(shape[1:])


def _weight_facts(layer: Any, in_shape, out_shape) -> dict[str, Any]:
    bias = getattr(layer, "bias", None)
    kernel = getattr(layer, "kernel_size", None) or ()
    padding = str(getattr(layer, "padding", "valid")).lower()
    return {
        "linear": True,
        "bias": bool(getattr(layer, "use_bias", bias is not None)),
        "bias_params": int(math.prod(bias.shape)) if bias is not None else 0,
        "in_channels": _channels(in_shape, layer),
        "out_channels": _channels(out_shape, layer),
        "zero_padding": padding == "same" and any(k > 1 for k in kernel),
        "plain": type(layer).__name__ in FOLDABLE,
        "groups": _groups(layer, in_shape),
    }


def _groups(layer: Any, in_shape) -> int:
    """Depthwise and separable convolutions are grouped per channel; Conv*D(groups=g)."""
    if type(layer).__name__.startswith(("DepthwiseConv", "SeparableConv")):
        return _channels(in_shape, layer) or 2  # grouped, channel count unknown
    return int(getattr(layer, "groups", 1) or 1)


def _strides(layer: Any) -> int | None:
    strides = getattr(layer, "strides", None)
    if strides is None:
        return None  # a global pool
    strides = strides if isinstance(strides, (tuple, list)) else (strides,)
    return math.prod(int(s) for s in strides)


def classify_layer(layer: Any, path: str, in_shape=None, out_shape=None) -> list[RoleNode] | None:
    """Role nodes for one layer call: a weight layer with ``activation=`` gives two; None when
    the layer passes its input through."""
    role, kind = _entry(layer)
    type_name = type(layer).__name__
    if role == TRANSPARENT:
        return None
    numel = _numel(out_shape)
    if role == "act":
        if not kind:
            kind = _activation_name(layer.activation)
        spec = _act_spec(kind, path, type_name, source=layer)
        return None if spec is None else [replace(spec, numel=numel)]
    facts: dict[str, Any] = {"numel": numel}
    if role == "weight":
        facts.update(_weight_facts(layer, in_shape, out_shape))
    elif role == "norm":
        channels = _channels(out_shape, layer)
        if kind == "gn" and getattr(layer, "groups", None) in (-1, channels):
            kind = "in"  # GroupNormalization(groups=-1): one group per channel
        facts.update(
            in_channels=channels,
            out_channels=channels,
            linear=kind == "bn",
            running_stats=kind == "bn",
            plain=type_name == "BatchNormalization",
        )
    elif role == "dropout":
        facts["p"] = float(getattr(layer, "rate", 0.0))
        if not facts["p"]:
            return None
    elif role == "pool":
        facts.update(linear=kind == "avgpool", shrink=_strides(layer))
    elif role in ("add", "concat", "reshape"):
        facts["linear"] = True
    else:
        facts["linear"] = kind in LINEAR_OTHER
    node = RoleNode(role, kind, path, "module", type_name, **facts)
    nodes = [node]
    activation = getattr(layer, "activation", None) if role == "weight" else None
    if activation is not None:
        act = _act_spec(_activation_name(activation), path + ".activation", type_name, path,
                        activation)
        if act is not None:
            nodes.append(replace(act, numel=numel))
    return nodes


def _key(tensor: Any) -> Hashable:
    return id(tensor)


def _is_sequential(model: Any) -> bool:
    return any(cls.__name__ == "Sequential" for cls in type(model).__mro__)


def _graph_of(model: Any, name: str) -> Any:
    """The functional graph of a model, None for an unbuilt Sequential; a subclassed model has
    none and is refused."""
    functional = getattr(model, "_functional", None) or model
    if getattr(functional, "_nodes_by_depth", None) is not None:
        return functional
    if _is_sequential(model):
        return None
    raise LintError(
        f"{name} is a subclassed keras.Model ({type(model).__name__}): its call() is Python code,"
        " not a layer graph layerorder can read; build it with the functional API or"
        " keras.Sequential, or export it to ONNX and lint that"
    )


def _walk(builder: GraphBuilder, model: Any, prefix: str, inputs: list[Hashable]) -> list:
    """Add ``model``'s layer calls; its inputs alias ``inputs`` (keys in the outer graph).
    Returns the keys of its outputs."""
    functional = _graph_of(model, f"'{prefix.rstrip('/')}'" if prefix else "the model")
    if functional is None:  # an unbuilt Sequential: its layers in order, no shapes
        return _walk_layers(builder, model, prefix, inputs)
    by_depth = functional._nodes_by_depth
    for tensor, outer in zip(functional.inputs, inputs):
        builder.add_call(_key(tensor), None, [outer])
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            layer = node.operation
            ins = [_key(t) for t in node.input_tensors]
            outs = node.output_tensors
            if getattr(node, "is_input", False) or not ins:
                continue
            path = prefix + layer.name
            if hasattr(layer, "layers") and hasattr(layer, "inputs"):  # a nested model
                results = _walk(builder, layer, path + "/", ins)
                for tensor, result in zip(outs, results):
                    builder.add_call(_key(tensor), None, [result])
                continue
            in_shape = _shape(node.input_tensors[0])
            specs = classify_layer(layer, path, in_shape, _shape(outs[0]) if outs else None)
            if outs:  # the layer's nodes once; further outputs are the same call's
                builder.add_call(_key(outs[0]), specs, ins)
                for tensor in outs[1:]:
                    builder.add_call(_key(tensor), None, [_key(outs[0])])
    return [_key(t) for t in functional.outputs]


def _walk_layers(builder: GraphBuilder, model: Any, prefix: str, inputs: list) -> list:
    current = inputs
    for i, layer in enumerate(model.layers):
        key = (prefix, i)
        if hasattr(layer, "layers"):
            current = _walk(builder, layer, f"{prefix}{layer.name}/", current)
            continue
        builder.add_call(key, classify_layer(layer, prefix + layer.name), current)
        current = [key]
    return current


def graph_from_keras(model: Any) -> RoleGraph:
    """The role graph of a Keras 3 ``Model`` (Sequential or functional, built or not)."""
    builder = GraphBuilder()
    functional = _graph_of(model, "the model")
    built = functional is not None
    n_inputs = len(functional.inputs) if built else 1
    inputs = []
    for i in range(n_inputs):
        builder.add_input(("input", i), f"input{i}" if n_inputs > 1 else "input")
        inputs.append(("input", i))
    builder.add_output(_walk(builder, model, "", inputs))
    note = "" if built else "not built, so channel counts are unknown (give it a keras.Input)"
    return builder.build("keras", note)
