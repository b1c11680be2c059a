"""Plain PyTorch models that torch.jit.script accepts, with the orders lint reports on."""

import torch
import torch.nn.functional as F
from torch import nn


class Basic(nn.Module):
    """torchvision's BasicBlock, with a bias before the second BN (a redundant one)."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(x + y)


def cases():
    encoder_layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True)
    return {
        "drop_bn": nn.Sequential(nn.Conv2d(1, 8, 3), nn.Dropout(0.2), nn.BatchNorm2d(8),
                                 nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(72, 3)),
        "act_bn": nn.Sequential(nn.Conv2d(1, 8, 3), nn.LeakyReLU(), nn.BatchNorm2d(8),
                                nn.Conv2d(8, 8, 3), nn.BatchNorm2d(8), nn.BatchNorm2d(8),
                                nn.Flatten(), nn.Linear(128, 3)),
        "mlp": nn.Sequential(nn.Linear(12, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1),
                             nn.Linear(16, 16), nn.Linear(16, 3)),
        "resnet": nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                Basic(8), Basic(8), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                nn.Linear(8, 3)),
        "prelu_pool": nn.Sequential(nn.Conv2d(1, 4, 3), nn.PReLU(), nn.MaxPool2d(2),
                                    nn.Conv2d(4, 4, 3, groups=4), nn.BatchNorm2d(4)),
        "encoder": nn.TransformerEncoder(encoder_layer, 2, enable_nested_tensor=False),
    }


SHAPES = {"drop_bn": (2, 1, 8, 8), "act_bn": (2, 1, 8, 8), "mlp": (4, 12),
          "resnet": (2, 1, 8, 8), "prelu_pool": (2, 1, 10, 10), "encoder": (2, 5, 8)}


class Split(nn.Module):
    """Returns a tuple: each element must reach only its own reader."""

    def __init__(self, c):
        super().__init__()
        self.a = nn.Conv2d(c, c, 1)
        self.b = nn.Conv2d(c, c, 1, bias=False)

    def forward(self, x):
        return self.a(x), self.b(x)


class LayerNorm(nn.Module):
    """The user's own class, named like torch's: walked into, not taken for nn.LayerNorm."""

    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.d = d

    def forward(self, x):
        return F.layer_norm(x, [self.d], self.weight)


class Functional(nn.Module):
    """F.* calls, a branch on a module flag, a tuple from a submodule, a user's LayerNorm."""

    def __init__(self, pre: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)
        self.split = Split(8)
        self.bn = nn.BatchNorm2d(8)
        self.norm = LayerNorm(3)
        self.pre = pre

    def forward(self, x):
        y = self.conv(x)
        if self.pre:
            y = F.relu(y)
        else:
            y = torch.sigmoid(y)
        a, b = self.split(y)
        a = F.max_pool2d(F.relu(self.bn(a)), 2)
        return self.norm(a), b


class Looped(nn.Module):
    """A loop whose body reads the value carried in."""

    def __init__(self):
        super().__init__()
        self.fc, self.out = nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x):
        y = self.fc(x)
        for _ in range(3):
            y = F.gelu(y) + 1.0
        return self.out(y)
