"""Hand-built models for the lint tests; also CLI targets (tests/lint/lint_models.py:NAME)."""

import operator

import torch
import torch.nn.functional as F
from torch import nn


def seeded(make):
    def wrapper(*args, **kwargs):
        torch.manual_seed(0)
        return make(*args, **kwargs)

    wrapper.__name__ = make.__name__
    return wrapper


@seeded
def conv_bias_bn():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())


@seeded
def conv_bias_relu_bn():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(8))


@seeded
def conv_bias_gn():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.GroupNorm(2, 8), nn.ReLU())


@seeded
def conv_bias_in():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.InstanceNorm2d(8), nn.ReLU())


@seeded
def linear_bias_ln():
    return nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.ReLU())


@seeded
def dropout_linear_bn():
    return nn.Sequential(nn.Dropout(0.5), nn.Linear(6, 8, bias=False), nn.BatchNorm1d(8), nn.ReLU())


@seeded
def linear_relu_dropout_bn():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.5), nn.BatchNorm1d(8))


@seeded
def norm_norm():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.BatchNorm2d(8), nn.ReLU()
    )


@seeded
def act_act():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.GELU())


@seeded
def linear_linear():
    return nn.Sequential(nn.Linear(6, 8), nn.Linear(8, 2))


@seeded
def linear_bn_linear():
    return nn.Sequential(nn.Linear(6, 8, bias=False), nn.BatchNorm1d(8), nn.Linear(8, 2))


@seeded
def linear_relu_linear():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))


@seeded
def linear_ln_linear():
    return nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.Linear(8, 2))


@seeded
def conv_maxpool_conv():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3))


@seeded
def conv_avgpool_conv():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AvgPool2d(2), nn.Conv2d(4, 4, 3))


@seeded
def act_bn_linear():
    """linear -> relu -> bn -> linear: the BN folds into the next layer (no padding)."""
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8, 2))


@seeded
def act_bn_padded_conv():
    """conv -> relu -> bn -> conv(padding=1): the BN folds nowhere exactly."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(8), nn.Conv2d(8, 4, 3, padding=1)
    )


class BatchNormAct2d(nn.BatchNorm2d):
    """Like timm's fused BatchNormAct2d: a BatchNorm2d subclass with .drop and .act."""

    def __init__(self, channels):
        super().__init__(channels)
        self.drop = nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.drop(super().forward(x)))


@seeded
def fused_norm_act():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), BatchNormAct2d(8))


class OutOfOrder(nn.Module):
    """Registers relu, bn, conv but calls conv -> bn -> relu."""

    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()
        self.bn = nn.BatchNorm2d(8)
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Functional(nn.Module):
    """Roles from functions and tensor methods: F.relu, x.relu(), operator.add, torch.cat, view."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.fc = nn.Linear(8 * 4 * 4, 2)

    def forward(self, x):
        a = F.relu(self.bn1(self.conv1(x)))
        b = operator.add(self.conv2(a), a).relu()
        c = torch.cat([a, b], dim=1)
        c = F.max_pool2d(c, 2)
        return self.fc(c.view(c.size(0), -1))


class DenseDrop(nn.Module):
    """DenseNet-like: dropout output reaches the next BN through torch.cat."""

    def __init__(self):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(4)
        self.conv1 = nn.Conv2d(4, 4, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 4, 1, bias=False)

    def forward(self, x):
        new = F.dropout(self.conv1(F.relu(self.bn1(x))), 0.2, self.training)
        x = torch.cat([x, new], 1)
        return self.conv2(F.relu(self.bn2(x)))


class SharedReluBlock(nn.Module):
    """torchvision BasicBlock style: one ReLU module called twice."""

    def __init__(self, channels=4):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class Branchy(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it, forward hooks can."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        y = self.bn(self.conv(x))
        if y.mean() > -100:
            y = F.relu(y)
        return y


def branchy():
    torch.manual_seed(0)
    return Branchy()


def shared_relu_block():
    torch.manual_seed(0)
    return SharedReluBlock()


def not_a_module():
    return 42


def raises():
    raise RuntimeError("factory exploded")


instance = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
number = 7


def randomize_bn(model, seed=1):
    """Non-trivial running statistics and affine parameters, so folding is really tested."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=gen) * 2 - 1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                if m.weight is not None:
                    m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                    m.bias.copy_(torch.rand(n, generator=gen) - 0.5)
    return model


class LayerNorm2d(nn.LayerNorm):
    """timm's LayerNorm2d: LayerNorm over the channels of an NCHW tensor."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """timm's ConvNeXt block: depthwise conv, LayerNorm, MLP, layer scale, residual sum."""

    def __init__(self, dim):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.fc1, self.act, self.fc2 = nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x):
        y = self.norm(self.conv_dw(x).permute(0, 2, 3, 1))
        y = self.fc2(self.act(self.fc1(y))) * self.gamma
        return y.permute(0, 3, 1, 2) + x


@seeded
def convnext_like():
    """Before residual additions stopped the search, fc2 -> add -> next conv_dw was reported
    as a missing nonlinearity in every block (28 times in timm's convnext_tiny)."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 4, stride=4),
        LayerNorm2d(16),
        ConvNeXtBlock(16),
        ConvNeXtBlock(16),
        ConvNeXtBlock(16),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.LayerNorm(16),
        nn.Linear(16, 10),
    )


class InvertedResidual(nn.Module):
    """MobileNetV2's block: expand 1x1, depthwise 3x3, linear projection 1x1 (no activation)."""

    def __init__(self, cin, cout, expand=6, stride=1):
        super().__init__()
        hidden = cin * expand
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


@seeded
def mobilenet_like():
    """Linear bottlenecks: each projection (96 -> 8 channels) feeds the next expansion (8 -> 48)
    with no activation, through a residual sum or directly."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, 2, 1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU6(),
        InvertedResidual(16, 8),
        InvertedResidual(8, 8),
        InvertedResidual(8, 16, stride=2),
        nn.Conv2d(16, 64, 1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU6(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


@seeded
def linear_widen_narrow():
    """6 -> 16 -> 4 with nothing between: no bottleneck (the middle is the widest), one map."""
    return nn.Sequential(nn.Linear(6, 16), nn.Linear(16, 4))


@seeded
def linear_bottleneck():
    """16 -> 4 -> 16: a deliberate low-rank factorisation, not reported."""
    return nn.Sequential(nn.Linear(16, 4), nn.Linear(4, 16))


@seeded
def conv_flatten_linear():
    """conv 8 -> 2 channels, flatten (2*4*4 = 32 features), linear 32 -> 16: the middle is 32
    wide, not 2, so this is no bottleneck and is reported."""
    return nn.Sequential(nn.Conv2d(8, 2, 1), nn.Flatten(), nn.Linear(32, 16))


@seeded
def dense_then_depthwise():
    """ConvNeXt's downsampling: a dense 2x2 stride-2 conv, then a 7x7 depthwise conv with nothing
    between: a factorisation (one dense 14x14 conv would cost far more), not reported."""
    return nn.Sequential(nn.Conv2d(8, 16, 2, stride=2), nn.Conv2d(16, 16, 7, padding=3, groups=16))
