"""Our ResNets: every registered shape builds and embeds any crop size the views make; the stride-2 stem
is what makes `resnet_tiny_s2` cheaper (its maps are a quarter of the area)."""
import pytest
import torch

from angular_dino.method.model.backbones import BACKBONES, build_backbone


@pytest.mark.parametrize("arch", list(BACKBONES))
@pytest.mark.parametrize("side", [7, 16, 28])
def test_every_backbone_embeds_global_and_local_crop_sizes(arch, side):
    net = build_backbone(arch, in_channels=1, emb_dim=64)
    assert net(torch.zeros(2, 1, side, side)).shape == (2, 64)


def test_the_stride_2_stem_halves_the_maps_and_keeps_the_parameters():
    plain, strided = build_backbone("resnet_tiny", 1, 64), build_backbone("resnet_tiny_s2", 1, 64)
    x = torch.zeros(1, 1, 28, 28)
    assert plain.stem(x).shape[-2:] == (28, 28) and strided.stem(x).shape[-2:] == (14, 14)
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in strided.parameters())
