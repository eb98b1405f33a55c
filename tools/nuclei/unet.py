"""milesial/Pytorch-UNet architecture generalized to `depth` Down blocks (state_dict keys match the native format).

DoubleConv = (conv3x3 no bias, BN, ReLU) x2; Down = MaxPool2d(2) + DoubleConv; Up = ConvTranspose2d(in, in/2, 2, 2),
pad x1 to x2 with F.pad([dx//2, dx-dx//2, dy//2, dy-dy//2]), cat([x2, x1]), DoubleConv; OutConv = conv1x1 with bias.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DoubleConv(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(cin, cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(cin, cout)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x1 = self.up(x1)
        dy = x2.size(2) - x1.size(2)
        dx = x2.size(3) - x1.size(3)
        x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class OutConv(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, in_channels: int = 1, classes: int = 1, base: int = 16, depth: int = 4) -> None:
        super().__init__()
        self.depth = depth
        self.inc = DoubleConv(in_channels, base)
        for i in range(1, depth + 1):
            setattr(self, f"down{i}", Down(base * 2 ** (i - 1), base * 2 ** i))
        for i in range(1, depth + 1):
            cin = base * 2 ** (depth - i + 1)
            setattr(self, f"up{i}", Up(cin, cin // 2))
        self.outc = OutConv(base, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.inc(x)]
        for i in range(1, self.depth + 1):
            skips.append(getattr(self, f"down{i}")(skips[-1]))
        x = skips.pop()
        for i in range(1, self.depth + 1):
            x = getattr(self, f"up{i}")(x, skips.pop())
        return self.outc(x)


def macs_per_pixel(base: int, depth: int, in_channels: int = 1, classes: int = 1) -> float:
    """Multiply-accumulates per input pixel (convs + transposed convs), for FLOP budgeting (FLOPs = 2 x MACs)."""
    total = 9 * (in_channels * base + base * base)
    for i in range(1, depth + 1):
        cin, cout = base * 2 ** (i - 1), base * 2 ** i
        total += 9 * (cin * cout + cout * cout) / 4 ** i
    for i in range(1, depth + 1):
        cin = base * 2 ** (depth - i + 1)
        level = depth - i  # output resolution level
        total += 4 * cin * (cin // 2) / 4 ** (level + 1)
        total += 9 * (cin * (cin // 2) + (cin // 2) ** 2) / 4 ** level
    total += base * classes
    return total
