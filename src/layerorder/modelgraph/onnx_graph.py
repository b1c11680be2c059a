"""The role graph of an ONNX model (any framework's export), for the same census and rules.

ONNX nodes are already in topological order. Data flows from the graph's inputs; initializers,
``Constant`` nodes and anything computed only from them (shapes, reshape targets) are constants,
not data, so ``Add(x, bias)`` is an affine step while ``Add(x, y)`` is a residual sum. A
``MatMul`` whose only reader adds a constant is one linear layer with a bias, as ``nn.Linear``
exports without ``Gemm``.

An export keeps the layers only if it does not fold them: in eval mode ``torch.onnx.export``
(dynamo) folds BatchNorm into the convolution before it and drops Dropout. Export with
``optimize=False`` to keep BatchNorm, or with the TorchScript exporter in training mode
(``dynamo=False, training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False``) to keep
Dropout too.
"""

from __future__ import annotations

import ast
import importlib
import math
import os
from dataclasses import replace
from typing import Any

from layerorder.activations import is_monotone, maps_zero_to_zero, sign_setting
from layerorder.modelgraph.errors import LintError, short_reason
from layerorder.modelgraph.extras import install_hint
from layerorder.modelgraph.graph import GraphBuilder, RoleGraph, RoleNode
from layerorder.modelgraph.reach import COPY_PAD, ZERO_PAD
from layerorder.modelgraph.roles import TRANSPARENT

CONSTANT_OPS = frozenset({"Constant", "ConstantOfShape", "Shape", "Size", "Range", "EyeLike"})

# (role, kind) per ONNX operator type
OP_TABLE: dict[str, tuple[str, str]] = {
    "Conv": ("weight", "conv"),
    "ConvTranspose": ("weight", "conv"),
    "Gemm": ("weight", "linear"),
    "MatMul": ("weight", "linear"),  # with a constant second input; two data inputs: 'other'
    "BatchNormalization": ("norm", "bn"),
    "LayerNormalization": ("norm", "ln"),
    "GroupNormalization": ("norm", "gn"),
    "InstanceNormalization": ("norm", "in"),
    "RMSNormalization": ("norm", "rms"),
    "LpNormalization": ("other", "lpnorm"),
    "Relu": ("act", "relu"),
    "LeakyRelu": ("act", "leakyrelu"),
    "PRelu": ("act", "prelu"),
    "Elu": ("act", "elu"),
    "Selu": ("act", "selu"),
    "Celu": ("act", "celu"),
    "Gelu": ("act", "gelu"),
    "Sigmoid": ("act", "sigmoid"),
    "Tanh": ("act", "tanh"),
    "Softplus": ("act", "softplus"),
    "Softsign": ("act", "softsign"),
    "HardSigmoid": ("act", "hardsigmoid"),
    "HardSwish": ("act", "hardswish"),
    "Mish": ("act", "mish"),
    "ThresholdedRelu": ("act", "threshold"),
    "Clip": ("act", "hardtanh"),  # Clip(0, 6) is ReLU6, Clip(0, none) ReLU: see _clip
    "Dropout": ("dropout", "drop"),
    "MaxPool": ("pool", "maxpool"),
    "GlobalMaxPool": ("pool", "maxpool"),
    "AveragePool": ("pool", "avgpool"),
    "GlobalAveragePool": ("pool", "avgpool"),
    "LpPool": ("pool", "lppool"),
    "Add": ("add", "add"),
    "Sum": ("add", "add"),
    "Concat": ("concat", "cat"),
    **{
        op: ("reshape", op.lower())
        for op in (
            "Flatten",
            "Reshape",
            "Transpose",
            "Squeeze",
            "Unsqueeze",
            "Expand",
            "Split",
            "Slice",
            "Gather",
            "Tile",
            "DepthToSpace",
            "SpaceToDepth",
        )
    },
    **{op: (TRANSPARENT, "") for op in ("Identity", "Cast", "CastLike", "SequenceAt")},
    "SplitToSequence": ("reshape", "split"),
    "ConcatFromSequence": ("concat", "cat"),
    "Sub": ("other", "sub"),
    "Neg": ("other", "neg"),
    "Mul": ("other", "mul"),
    "Div": ("other", "div"),
    "Pad": ("other", "pad"),
    "ReduceMean": ("other", "mean"),
    "ReduceSum": ("other", "sum"),
}
SCALE_OPS = frozenset({"Add", "Sub", "Mul", "Div"})  # one data input: an affine step
# operators whose inputs after the first are parameters or settings, never data, even when
# computed (CastLike reads its second input's type only; a Conv's bias may be built by Expand)
FIRST_INPUT_ONLY = frozenset(
    {
        "Conv",
        "ConvTranspose",
        "Gemm",
        "BatchNormalization",
        "LayerNormalization",
        "GroupNormalization",
        "InstanceNormalization",
        "RMSNormalization",
        "Dropout",
        "PRelu",
        "Clip",
        "CastLike",
        "Reshape",
        "Expand",
        "Pad",
        "Slice",
        "Tile",
        "Squeeze",
        "Unsqueeze",
        "Split",
        "ReduceMean",
        "ReduceSum",
        "LeakyRelu",
    }
)
# operators that keep a constant's values (so a zero bias built by Expand is still zero)
VALUE_KEEPING = frozenset({"Cast", "CastLike", "Expand", "Identity", "Transpose"})
LINEAR_OTHER = frozenset({"scale", "sub", "neg", "pad", ZERO_PAD, COPY_PAD, "mean", "sum"})
COPY_PAD_MODES = frozenset({"reflect", "edge", "wrap"})  # a Pad's modes that copy its input
SELU_ALPHA, SELU_GAMMA = 1.67326319217681884765625, 1.05070102214813232421875  # the ONNX spec's


def import_onnx() -> Any:
    try:
        return importlib.import_module("onnx")
    except ImportError as exc:
        raise LintError(
            "linting an ONNX model needs the onnx package:"
            f" {install_hint('onnx')}"
            f" ({short_reason(exc)})"
        ) from exc


# protobuf's limit on one message: a larger ONNX model keeps its weights as external data
MAX_ONNX_BYTES = 2 * 1024**3


def load_onnx_file(path: str) -> Any:
    """The model of an ONNX file; a file past protobuf's 2 GiB is refused before it is read into
    memory (it could not be parsed, and reading it would take its size in memory first)."""
    onnx = import_onnx()
    size = os.path.getsize(path)
    if size > MAX_ONNX_BYTES:
        raise LintError(f"ONNX model '{path}' is {size / 1024**3:.1f} GiB, past the 2 GiB an ONNX"
                        " file can hold; a model that large keeps its weights as external data:"
                        " save it so (onnx.save(..., save_as_external_data=True)) and lint that")
    try:
        return onnx.load(path)
    except Exception as exc:
        raise LintError(f"cannot read ONNX model '{path}': {short_reason(exc)}") from exc


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _path(node: Any, index: int) -> str:
    """The exporting module's path where the exporter recorded it, else the node's name."""
    meta = {p.key: p.value for p in node.metadata_props}
    scopes = meta.get("pkg.torch.onnx.name_scopes")
    if scopes:
        try:
            parts = [s for s in ast.literal_eval(scopes)[:-1] if s]
        except (ValueError, SyntaxError):
            parts = []
        if parts:  # qualified names per level: ['features', 'features.4', 'features.4.act']
            return parts[-1]
    name = node.name.strip("/")
    if "/" in name:  # TorchScript exporter: '/layer1/layer1.0/conv1/Conv'
        return name.rsplit("/", 1)[0].split("/")[-1]
    return name or f"{node.op_type}_{index}"


def _constant_value(attrs: dict[str, Any], numpy_helper: Any) -> Any:
    import numpy as np

    if attrs.get("value") is not None:
        return numpy_helper.to_array(attrs["value"])
    for key in ("value_float", "value_int", "value_floats", "value_ints"):
        if key in attrs:
            return np.asarray(attrs[key])
    return None


class _Constants:
    """Initializers and constant-folded values: shapes, for channel counts and biases."""

    def __init__(self, graph: Any) -> None:
        from onnx import numpy_helper

        self.values: dict[str, Any] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        self.names: set[str] = set(self.values)
        for node in graph.node:
            if node.op_type == "Constant":
                value = _constant_value(_attrs(node), numpy_helper)
                if value is not None:
                    self.values[node.output[0]] = value
            elif node.op_type in VALUE_KEEPING and node.input[0] in self.values:
                value = self.values[node.input[0]]
                if node.op_type == "Transpose":  # nn.Linear's weight as MatMul reads it
                    value = value.transpose(_attrs(node).get("perm") or None)
                self.values[node.output[0]] = value
        self.names |= set(self.values)

    def zero(self, name: str) -> bool:
        """A value known to be all zeros (the exporter's stand-in for a missing bias)."""
        value = self.values.get(name)
        return value is not None and not value.any()

    def shape(self, name: str) -> tuple[int, ...] | None:
        value = self.values.get(name)
        return None if value is None else tuple(value.shape)

    def least(self, name: str) -> float | None:
        """The least element of a known value (PRelu's slopes), None when it is not known."""
        value = self.values.get(name)
        return float(value.min()) if value is not None and value.size else None

    def scalar(self, name: str) -> float | None:
        value = self.values.get(name)
        return float(value.reshape(-1)[0]) if value is not None and value.size == 1 else None


def _weight_facts(node: Any, consts: _Constants, attrs: dict[str, Any]) -> dict[str, Any]:
    inputs = list(node.input)
    shape = consts.shape(inputs[1]) if len(inputs) > 1 else None
    has_bias = len(inputs) > 2 and bool(inputs[2]) and not consts.zero(inputs[2])
    c_in = c_out = None
    if shape is not None and len(shape) >= 2:
        if node.op_type == "Conv":
            c_out, c_in = shape[0], shape[1] * int(attrs.get("group", 1))
        elif node.op_type == "ConvTranspose":
            c_in, c_out = shape[0], shape[1] * int(attrs.get("group", 1))
        elif node.op_type == "Gemm" and attrs.get("transB", 0):
            c_out, c_in = shape[0], shape[1]
        else:
            c_in, c_out = shape[-2], shape[-1]
    pads = attrs.get("pads") or ()
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    return {
        "linear": True,
        "bias": has_bias,
        "bias_params": int(c_out or 0) if has_bias else 0,
        "in_channels": c_in,
        "out_channels": c_out,
        "zero_padding": node.op_type.startswith("Conv")
        and (any(p > 0 for p in pads) or auto_pad.startswith("SAME")),
        "plain": node.op_type in ("Conv", "Gemm", "MatMul"),
        "groups": int(attrs.get("group", 1)),
    }


def classify_node(node: Any, path: str, consts: _Constants, n_data: int) -> list[RoleNode] | None:
    """Role nodes for one ONNX node with ``n_data`` data inputs (None: passes its input on)."""
    op = node.op_type
    role, kind = OP_TABLE.get(op, ("other", op.lower()))
    if role == TRANSPARENT:
        return None
    attrs = _attrs(node)
    facts: dict[str, Any] = {}
    if op in SCALE_OPS and n_data < 2:
        role, kind = "other", "scale"
    if op == "MatMul" and n_data >= 2:
        role, kind = "other", "matmul"
    if op == "Pad" and _pads_with_zeros(node, consts, attrs):
        kind = ZERO_PAD
    elif op == "Pad" and _pad_mode(attrs) in COPY_PAD_MODES:
        kind = COPY_PAD
    if role == "weight":
        facts = _weight_facts(node, consts, attrs)
    elif role == "norm":
        scale = consts.shape(node.input[1]) if len(node.input) > 1 else None
        channels = scale[0] if scale else None
        facts = {
            "linear": kind == "bn",
            "running_stats": kind == "bn",
            "plain": kind == "bn",
            "in_channels": channels,
            "out_channels": channels,
        }
    elif role == "dropout":
        ratio = consts.scalar(node.input[1]) if len(node.input) > 1 and node.input[1] else None
        facts = {"p": float(attrs.get("ratio", 0.5) if ratio is None else ratio)}
        if not facts["p"]:
            return None
    elif role == "pool":
        strides = attrs.get("strides")
        facts = {"linear": kind == "avgpool", "shrink": math.prod(strides) if strides else None,
                 "indices": len(node.output) > 1 and bool(node.output[1])}  # MaxPool's Indices
    elif role == "act":
        kind, facts = _act_facts(node, kind, consts, attrs)
    elif role in ("add", "concat", "reshape"):
        facts = {"linear": True}
    else:
        facts = {"linear": kind in LINEAR_OTHER}
    return [RoleNode(role, kind, path, "module", op, **facts)]


def _pad_mode(attrs: dict[str, Any]) -> str:
    mode = attrs.get("mode", "constant")
    return mode.decode() if isinstance(mode, bytes) else str(mode)


def _pads_with_zeros(node: Any, consts: _Constants, attrs: dict[str, Any]) -> bool:
    """A Pad in constant mode whose value is 0: its own input since opset 11 (absent: 0), an
    attribute before."""
    if _pad_mode(attrs) != "constant":
        return False
    if len(node.input) > 2 and node.input[2]:
        return consts.scalar(node.input[2]) == 0
    return float(attrs.get("value", 0.0)) == 0


def _act_facts(
    node: Any, kind: str, consts: _Constants, attrs: dict[str, Any]
) -> tuple[str, dict[str, bool]]:
    """An activation node's kind (Clip's from its range), ``monotone`` and ``zero``, from its
    attributes and constant inputs: the ``sign`` setting (ONNX names it ``alpha`` in LeakyRelu
    and Elu, with torch's defaults), PRelu's slopes where they are initializers, HardSigmoid's
    and Selu's settings (ONNX lets them take either sign; torch fixes them), Clip's range,
    ThresholdedRelu's step."""
    op = node.op_type
    slope = keeps_zero = None
    if op == "Clip":
        kind, keeps_zero = _clip(node, consts, attrs)
    setting = sign_setting(kind)
    if setting is not None:
        slope = float(attrs.get("alpha", setting[1]))
    elif op == "PRelu" and len(node.input) > 1:
        slope = consts.least(node.input[1])
    elif op == "HardSigmoid":  # max(0, min(1, alpha x + beta)): falls with alpha < 0
        slope = float(attrs.get("alpha", 0.2))
    elif op == "Selu":  # gamma (alpha e^x - alpha) below 0, gamma x above: both must rise
        gamma = float(attrs.get("gamma", SELU_GAMMA))
        slope = min(gamma, gamma * float(attrs.get("alpha", SELU_ALPHA)))
    elif op == "ThresholdedRelu":  # x above alpha, else 0: a step from 0 up to alpha; 0 -> 0
        slope, keeps_zero = float(attrs.get("alpha", 1.0)), True
    return kind, {"monotone": is_monotone(kind, slope),
                  "zero": maps_zero_to_zero(kind, keeps_zero)}


def _clip(node: Any, consts: _Constants, attrs: dict[str, Any]) -> tuple[str, bool | None]:
    """Clip's kind and whether its range holds 0 (None where a bound is not a constant). Its
    bounds are inputs since opset 11 (attributes before), each optional: (0, 6) is ReLU6, (0,
    none) ReLU, anything else a hard tanh."""
    bounds: list[float | None] = []
    for index, name in ((1, "min"), (2, "max")):
        given = len(node.input) > index and node.input[index]
        value = consts.scalar(node.input[index]) if given else None
        if given and value is None:
            return "hardtanh", None  # a bound computed at run time
        bounds.append(attrs.get(name, value))
    low, high = bounds
    if low == 0 and high == 6:
        return "relu6", True
    if low == 0 and high is None:
        return "relu", True
    return "hardtanh", (low is None or low <= 0) and (high is None or high >= 0)


def _biased_matmuls(graph: Any, consts: _Constants) -> dict[str, str]:
    """MatMul output -> the Add that only adds a constant bias to it (the pair is one layer)."""
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    pairs = {}
    for node in graph.node:
        if node.op_type != "MatMul" or len(node.input) < 2 or node.input[1] not in consts.names:
            continue
        (reader, *more) = readers.get(node.output[0], [None])
        if reader is not None and not more and reader.op_type == "Add":
            other = [i for i in reader.input if i != node.output[0]]
            if len(other) == 1 and other[0] in consts.names:
                pairs[node.output[0]] = reader.output[0]
    return pairs


def graph_from_onnx(model: Any) -> RoleGraph:
    """The role graph of an ``onnx.ModelProto``."""
    graph = model.graph
    consts = _Constants(graph)
    builder = GraphBuilder()
    for value in graph.input:
        if value.name not in consts.names:
            builder.add_input(value.name, value.name)
    biased = _biased_matmuls(graph, consts)
    bias_adds = set(biased.values())
    for index, node in enumerate(graph.node):
        inputs = node.input[:1] if node.op_type in FIRST_INPUT_ONLY else node.input
        data = [name for name in inputs if name and builder.has(name)]
        if node.op_type in CONSTANT_OPS or not data:
            continue  # a constant (or a value computed from constants only)
        if node.op_type == "Gather" and not builder.has(node.input[0]):
            # rows of a constant table picked by data indices: an embedding lookup (like
            # nn.Embedding, an 'other' node, not affine in the indices)
            spec = RoleNode("other", "embedding", _path(node, index), "module", "Gather")
            builder.add_call(node.output[0], [spec], data)
            continue
        if node.output[0] in bias_adds:  # the bias of the MatMul before it
            builder.add_call(node.output[0], None, data)
            continue
        specs = classify_node(node, _path(node, index), consts, len(data))
        if specs and node.output[0] in biased:
            specs = [replace(specs[0], bias=True, bias_params=specs[0].out_channels or 0)]
        builder.add_call(node.output[0], specs, data)
        for name in node.output[1:]:  # Split's pieces, Dropout's mask: the same call's values
            if name:
                builder.add_call(name, None, [node.output[0]])
    builder.add_output([value.name for value in graph.output])
    return builder.build("onnx", "; ".join(export_notes(graph)))


def _folded_norm(node: Any) -> bool:
    """A node the exporter's optimizer made by folding a BatchNorm into it: torch.onnx (dynamo)
    marks it with the onnxscript rewrite rule that did it."""
    return any(p.key == "pkg.onnxscript.rewriter.rule_name" and "BatchNorm" in p.value
               for p in node.metadata_props)


def export_notes(graph: Any) -> list[str]:
    """What the export left out, which rules then cannot see: BatchNorms the exporter folded
    into the layer before them, and Dropout, which an inference export drops (said where the
    graph has, or had, BatchNorms for a dropout to sit before)."""
    ops = [node.op_type for node in graph.node]
    notes = []
    folded = sum(_folded_norm(node) for node in graph.node)
    if folded:
        notes.append(
            f"{folded} BatchNorm{'s were' if folded > 1 else ' was'} folded into the layer before"
            " by the exporter, so act-before-norm, redundant-bias and folding cannot see"
            f" {'them' if folded > 1 else 'it'} (export with optimize=False to keep BatchNorm,"
            " or lint the PyTorch model)"
        )
    if "Dropout" not in ops and (folded or "BatchNormalization" in ops):
        notes.append(
            "no Dropout nodes: an inference export leaves Dropout out, so if the model had any,"
            " dropout-before-norm cannot be checked here (lint the source model)"
        )
    return notes
