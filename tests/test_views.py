"""Batched multi-crop augmentation."""
import math

import pytest
import torch

from angular_dino.method import views
from angular_dino.method.views import MultiCropViews, ViewSettings, crop_matrices, normalise


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


def test_crop_matrices_draw_crops_of_the_asked_area_and_aspect_inside_the_image():
    """A row [w, 0, cx; 0, h, cy] samples the box [cx ± w] × [cy ± h] of the image's [-1, 1]² (affine_grid)."""
    m = crop_matrices(torch.Generator().manual_seed(0), 500, scale=(0.2, 0.5), max_rotation_deg=0, flip=False)
    width, height, centre_x, centre_y = m[:, 0, 0], m[:, 1, 1], m[:, 0, 2], m[:, 1, 2]
    assert torch.all(m[:, 0, 1] == 0) and torch.all(m[:, 1, 0] == 0)  # no rotation
    area = width * height
    assert area.min() >= 0.2 - 1e-6 and area.max() <= 0.5 + 1e-6 and area.max() - area.min() > 0.2
    ratio = width / height
    assert ratio.min() >= 3 / 4 - 1e-6 and ratio.max() <= 4 / 3 + 1e-6
    assert torch.all(centre_x.abs() + width <= 1 + 1e-6) and torch.all(centre_y.abs() + height <= 1 + 1e-6)


def test_flip_mirrors_about_half_the_crops_and_rotation_stays_within_its_limit():
    plain = crop_matrices(torch.Generator().manual_seed(1), 400, (0.7, 1.0), max_rotation_deg=0, flip=False)
    flipped = crop_matrices(torch.Generator().manual_seed(1), 400, (0.7, 1.0), max_rotation_deg=0, flip=True)
    torch.testing.assert_close(flipped.abs(), plain.abs())  # the same crops, some mirrored
    mirrored = (flipped[:, 0, 0] < 0).float().mean()
    assert 0.4 < mirrored < 0.6
    rotated = crop_matrices(torch.Generator().manual_seed(1), 400, (0.7, 1.0), max_rotation_deg=15, flip=False)
    angle = torch.atan2(rotated[:, 1, 0] / rotated[:, 0, 0].abs(), torch.ones(400))  # sin θ·w / (cos θ·w)
    assert angle.abs().max() <= math.radians(15) + 1e-5 and angle.abs().max() > math.radians(10)


@pytest.mark.parametrize("recipe, rotation, flip", [("digits", 15.0, False), ("clothing", 0.0, False),
                                                    ("natural", 0.0, True)])
def test_each_recipe_crops_with_its_own_rotation_and_flip(monkeypatch, recipe, rotation, flip):
    calls = []

    def recorded(generator, n, scale, max_rotation_deg, flip):
        calls.append((scale, max_rotation_deg, flip))
        return real(generator, n, scale, max_rotation_deg, flip)

    real = views.crop_matrices
    monkeypatch.setattr(views, "crop_matrices", recorded)
    channels = 3 if recipe == "natural" else 1
    MultiCropViews(settings(recipe, channels), torch.Generator().manual_seed(0))(
        torch.randint(0, 256, (2, channels, 16, 16), dtype=torch.uint8))
    assert calls == [((0.7, 1.0), rotation, flip), ((0.2, 0.5), rotation, flip)]  # global crops, then local ones


def test_normalise_standardises_each_channel():
    images = torch.tensor([[[[0.0, 1.0]], [[0.5, 0.25]]]])
    torch.testing.assert_close(normalise(images, (0.5, 0.25), (0.25, 0.5)),
                               torch.tensor([[[[-2.0, 2.0]], [[0.5, 0.0]]]]))
