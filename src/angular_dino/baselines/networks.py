"""The Deep PU baselines' networks: a 3-block 5×5 conv encoder (32/64/128) to a 128-d code, its mirror.

As the Deep SVDD / Deep SAD code base that the Deep PU paper builds on: each encoder block is conv 5×5
→ batch norm → LeakyReLU → 2×2 max-pool, then a linear layer to the code. For the SVDD family the
whole autoencoder has no bias terms and batch norm without affine parameters (`svdd=True`): with
them a network can map every input to the centre and the one-class loss collapses (Ruff et al. 2018).
The decoder mirrors the encoder: linear → reshape to 128×(size/8)² → LeakyReLU, then two blocks of
2× nearest upsampling → conv 5×5 → batch norm → LeakyReLU (128→64→32), a last upsampling and conv to
the image channels, and a sigmoid (inputs lie in [0, 1]).

Each model returns `s`, one value per image, which is what the losses take: `ReconstructionError`
(mean squared error per image), `CentreDistance` (‖φ(x) − c‖) and `Classifier` (a logit), in float32
even under bfloat16 autocast.
"""
from __future__ import annotations

import torch
from torch import nn

WIDTHS = (32, 64, 128)
CODE_DIM = 128


def _conv_block(in_channels: int, out_channels: int, svdd: bool) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 5, padding=2, bias=False),
            nn.BatchNorm2d(out_channels, eps=1e-4, affine=not svdd), nn.LeakyReLU()]


class ConvEncoder(nn.Sequential):
    def __init__(self, image_size: int, channels: int = 3, svdd: bool = False) -> None:
        layers: list[nn.Module] = []
        for in_width, out_width in zip((channels, *WIDTHS[:-1]), WIDTHS):
            layers += [*_conv_block(in_width, out_width, svdd), nn.MaxPool2d(2)]
        side = image_size // 2 ** len(WIDTHS)
        super().__init__(*layers, nn.Flatten(), nn.Linear(WIDTHS[-1] * side * side, CODE_DIM, bias=not svdd))


class ConvDecoder(nn.Sequential):
    def __init__(self, image_size: int, channels: int = 3, svdd: bool = False) -> None:
        side = image_size // 2 ** len(WIDTHS)
        layers: list[nn.Module] = [nn.Linear(CODE_DIM, WIDTHS[-1] * side * side, bias=not svdd),
                                   nn.Unflatten(1, (WIDTHS[-1], side, side)), nn.LeakyReLU()]
        reversed_widths = WIDTHS[::-1]
        for in_width, out_width in zip(reversed_widths, reversed_widths[1:]):
            layers += [nn.Upsample(scale_factor=2), *_conv_block(in_width, out_width, svdd)]
        layers += [nn.Upsample(scale_factor=2), nn.Conv2d(WIDTHS[0], channels, 5, padding=2, bias=not svdd),
                   nn.Sigmoid()]
        super().__init__(*layers)


class ReconstructionError(nn.Module):
    """An autoencoder whose output is each image's mean squared reconstruction error."""

    def __init__(self, image_size: int, svdd: bool = False) -> None:
        super().__init__()
        self.encoder = ConvEncoder(image_size, svdd=svdd)
        self.decoder = ConvDecoder(image_size, svdd=svdd)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return (self.decoder(self.encoder(images)).float() - images).pow(2).flatten(1).mean(1)


class CentreDistance(nn.Module):
    """An encoder whose output is each code's Euclidean distance to a fixed centre."""

    def __init__(self, encoder: ConvEncoder, centre: torch.Tensor) -> None:
        super().__init__()
        self.encoder = encoder
        self.register_buffer("centre", centre)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # the tiny constant keeps the gradient of the square root finite at the centre itself
        return ((self.encoder(images).float() - self.centre).pow(2).sum(1) + 1e-12).sqrt()


class Classifier(nn.Module):
    """The encoder plus a linear output: one anomaly logit per image (the nnPU baseline)."""

    def __init__(self, image_size: int) -> None:
        super().__init__()
        self.encoder = ConvEncoder(image_size)
        self.output = nn.Linear(CODE_DIM, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.output(self.encoder(images)).float().squeeze(1)
