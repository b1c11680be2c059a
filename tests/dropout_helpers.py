"""Shared by the executor tests: a model as a user would write it, with torch's own dropout."""

from torch import nn


def with_torch_dropout(model: nn.Module) -> nn.Module:
    """Swap every layerorder ``Dropout`` (an ``nn.Dropout`` subclass) for a plain ``nn.Dropout``."""
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.Dropout):
                setattr(parent, name, nn.Dropout(child.p))
    return model
