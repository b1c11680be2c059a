"""nn.Module builders: ``block()``, residual units and the norm/activation/dropout registries."""

from layerorder.blocks.block import Block, block, init_block
from layerorder.blocks.dropout import Dropout, DropoutStream, dropout_streams, seed_dropout
from layerorder.blocks.registry import (
    ActSpec,
    BlockError,
    ChannelLayerNorm,
    create_act,
    create_dropout,
    create_norm,
    create_pool,
    get_activation,
    norm_kind,
    register_activation,
)
from layerorder.blocks.residual import RESIDUAL_VARIANTS, ResidualUnit, residual_unit

__all__ = [
    "ActSpec",
    "Block",
    "BlockError",
    "ChannelLayerNorm",
    "Dropout",
    "DropoutStream",
    "dropout_streams",
    "RESIDUAL_VARIANTS",
    "ResidualUnit",
    "block",
    "create_act",
    "create_dropout",
    "create_norm",
    "create_pool",
    "get_activation",
    "init_block",
    "norm_kind",
    "register_activation",
    "residual_unit",
    "seed_dropout",
]
