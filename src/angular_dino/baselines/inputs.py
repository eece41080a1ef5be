"""The Deep PU input every baseline takes: size×size, 3 channels, values in [0, 1], no normalisation."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def model_input(images: torch.Tensor, image_size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 images resized bilinearly (as torchvision's Resize), grayscale repeated to 3 channels, in [0, 1]; float32
    and channels-last, the layout the networks run in."""
    out = torch.empty((len(images), 3, image_size, image_size), dtype=torch.float32, device=device,
                      memory_format=torch.channels_last)
    for start in range(0, len(images), 4096):
        chunk = images[start:start + 4096].to(device).float().div_(255)
        if chunk.shape[-2:] != (image_size, image_size):
            chunk = F.interpolate(chunk, size=(image_size, image_size), mode="bilinear", antialias=True,
                                  align_corners=False).clamp_(0, 1)
        out[start:start + 4096] = chunk.expand(-1, 3, -1, -1)
    return out
