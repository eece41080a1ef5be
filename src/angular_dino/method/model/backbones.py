"""Backbones (image -> emb_dim vector) and their registry: our ResNets by name, and timm's as `timm:<name>`.

The reference is ResNet-18 with a stride-1 3×3 stem and no max-pool (METHOD §9), which suits small
images; the narrower and shallower variants exist because 2 CPU cores cannot train ResNet-18 in
minutes. Add a backbone by adding an entry to `BACKBONES`. A timm model (an optional extra) may start from
a local weights file (`timm_backbone.py`).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import torch
from torch import nn

from angular_dino.method.model.timm_backbone import PREFIX, TimmBackbone, timm_errors


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


@dataclass(frozen=True)
class ResNetShape:
    widths: tuple[int, ...]
    blocks: tuple[int, ...]
    stem_stride: int = 1  # 2 halves every feature map after the stem: about half the step time on 28-px crops


class ResNet(nn.Module):
    """A 3x3 stem (stride 1, or 2 where the shape says), stages that halve the resolution after the first,
    global average pool, linear."""

    def __init__(self, shape: ResNetShape, in_channels: int, emb_dim: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, shape.widths[0], 3, shape.stem_stride, 1, bias=False),
                                  nn.BatchNorm2d(shape.widths[0]), nn.ReLU(inplace=True))
        layers, channels = [], shape.widths[0]
        for stage, (width, count) in enumerate(zip(shape.widths, shape.blocks)):
            for block in range(count):
                layers.append(BasicBlock(channels, width, stride=2 if stage > 0 and block == 0 else 1))
                channels = width
        self.stages = nn.Sequential(*layers)
        self.fc = nn.Linear(channels, emb_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.stages(self.stem(x)).mean(dim=(2, 3)))


BACKBONES: dict[str, ResNetShape] = {
    "resnet18": ResNetShape(widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2)),
    "resnet_cpu": ResNetShape(widths=(32, 64, 128, 256), blocks=(1, 1, 1, 1)),
    "resnet_tiny": ResNetShape(widths=(16, 32, 64), blocks=(1, 1, 1)),
    "resnet_tiny_s2": ResNetShape(widths=(16, 32, 64), blocks=(1, 1, 1), stem_stride=2),
}


def build_backbone(arch: str, in_channels: int, emb_dim: int, pretrained_weights: str | None = None) -> nn.Module:
    """The backbone `arch` names; a timm one starts from `pretrained_weights` when given (the others take none)."""
    if arch.startswith(PREFIX):
        return TimmBackbone(arch[len(PREFIX):], in_channels, emb_dim, pretrained_weights)
    return ResNet(BACKBONES[arch], in_channels, emb_dim)


def backbone_errors(arch: str, pretrained_weights: str | None = None) -> list[str]:
    """The config errors of a backbone: a name that `BACKBONES` (or timm) does not hold, weights it cannot take."""
    if arch.startswith(PREFIX):
        return timm_errors(arch[len(PREFIX):], pretrained_weights)
    if pretrained_weights is not None:
        return [f"pretrained_weights: only a timm backbone (arch: {PREFIX}<name>) starts from a weights file; "
                f"{arch!r} trains from scratch, so leave pretrained_weights null"]
    if arch in BACKBONES:
        return []
    close = difflib.get_close_matches(arch, list(BACKBONES), n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return [f"arch: unknown backbone {arch!r}; choose one of {', '.join(BACKBONES)}, or {PREFIX}<name> for a timm "
            f"model.{hint}"]
