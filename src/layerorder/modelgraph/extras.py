"""The pip extra that installs what each non-PyTorch model format needs (``pyproject.toml``'s
optional dependencies): read by ``formats`` (the format's declaration) and by the graph readers'
install hints, below both of them."""

from __future__ import annotations

EXTRAS = {"keras": "keras", "onnx": "onnx"}


def install_hint(format_name: str) -> str:
    """``pip install 'layerorder[EXTRA]'`` for a format."""
    return f"pip install 'layerorder[{EXTRAS[format_name]}]'"
