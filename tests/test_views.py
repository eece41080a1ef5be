"""Batched multi-crop augmentation."""
import pytest
import torch

from angular_dino.method.views import MultiCropViews, ViewSettings, apply_crops, crop_matrices


def settings(recipe: str, channels: int = 1) -> ViewSettings:
    return ViewSettings(recipe=recipe, global_size=16, local_size=7, n_local=3, global_scale=(0.7, 1.0),
                        local_scale=(0.2, 0.5), mean=(0.5,) * channels, std=(0.25,) * channels)


@pytest.mark.parametrize("recipe, channels", [("digits", 1), ("clothing", 1), ("natural", 3)])
def test_views_have_the_configured_shapes_and_are_finite(recipe, channels):
    images = torch.randint(0, 256, (5, channels, 16, 16), dtype=torch.uint8)
    views = MultiCropViews(settings(recipe, channels), torch.Generator().manual_seed(0))(images)
    assert [tuple(v.shape) for v in views] == [(5, channels, 16, 16)] * 2 + [(5, channels, 7, 7)] * 3
    assert all(torch.isfinite(v).all() for v in views)
    assert all(v.min() >= -2.0 - 1e-5 and v.max() <= 2.0 + 1e-5 for v in views)  # [0,1] normalised by 0.5/0.25


def test_same_generator_seed_gives_the_same_views():
    images = torch.randint(0, 256, (4, 1, 16, 16), dtype=torch.uint8)
    a = MultiCropViews(settings("clothing"), torch.Generator().manual_seed(3))(images)
    b = MultiCropViews(settings("clothing"), torch.Generator().manual_seed(3))(images)
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_full_scale_crop_without_rotation_is_the_identity():
    images = torch.rand(2, 1, 8, 8)
    matrices = crop_matrices(torch.Generator().manual_seed(0), 2, scale=(1.0, 1.0), max_rotation_deg=0, flip=False)
    matrices[:, 0, 0] = matrices[:, 1, 1] = 1.0  # aspect jitter off
    matrices[:, :, 2] = 0.0
    torch.testing.assert_close(apply_crops(images, matrices, 8), images)


def test_clean_view_only_normalises():
    images = torch.tensor([[[[0, 255]]]], dtype=torch.uint8)
    clean = MultiCropViews(settings("digits"), torch.Generator()).clean(images)
    torch.testing.assert_close(clean, torch.tensor([[[[-2.0, 2.0]]]]))
