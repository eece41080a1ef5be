"""Losses against closed forms and direct reference computations."""
import math

import torch
import torch.nn.functional as F

from angular_dino.method.losses import (TeacherCentre, additive_angular_margin, dino_cross_entropy, pu_sample_weights,
                                 subtractive_angular_margin)


def test_additive_margin_is_cos_of_theta_plus_m_on_targets_only():
    theta = torch.tensor([[0.3, 1.0, 2.0]])
    target = torch.tensor([[True, False, True]])
    out = additive_angular_margin(theta.cos(), target, 0.5)
    expected = torch.tensor([[math.cos(0.8), math.cos(1.0), math.cos(2.5)]])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_additive_margin_falls_back_linearly_past_pi():
    theta = torch.tensor([[3.0]])  # 3.0 + 0.5 > pi
    out = additive_angular_margin(theta.cos(), torch.tensor([[True]]), 0.5)
    torch.testing.assert_close(out, torch.tensor([[math.cos(3.0) - 0.5 * math.sin(0.5)]]), atol=1e-6, rtol=0)


def test_subtractive_margin_is_cos_of_theta_minus_m_and_one_below_m():
    theta = torch.tensor([[1.2, 0.2, 2.0]])
    target = torch.tensor([[True, True, False]])
    out = subtractive_angular_margin(theta.cos(), target, 0.5)
    expected = torch.tensor([[math.cos(0.7), 1.0, math.cos(2.0)]])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_additive_margin_has_finite_gradient_at_cos_one():
    cos = torch.tensor([[1.0, -1.0]], requires_grad=True)
    additive_angular_margin(cos, torch.tensor([[True, True]]), 0.5).sum().backward()
    assert torch.isfinite(cos.grad).all()


def test_dino_cross_entropy_matches_a_direct_double_loop():
    torch.manual_seed(0)
    student = torch.randn(4, 3, 7)  # 2 global + 2 local views, batch 3, 7 outputs
    teacher = F.softmax(torch.randn(2, 3, 7), dim=-1)
    weights = torch.tensor([0.5, 1.0, 2.0])
    total, pairs = torch.zeros(3), 0
    for t in range(2):
        for s in range(4):
            if s == t:
                continue
            total += -(teacher[t] * F.log_softmax(student[s], dim=-1)).sum(-1)
            pairs += 1
    expected = (total / pairs * weights).mean()
    torch.testing.assert_close(dino_cross_entropy(student, teacher, weights), expected)
    torch.testing.assert_close(dino_cross_entropy(student, teacher), (total / pairs).mean())


def test_dino_cross_entropy_reference_value():
    # uniform teacher over 2 classes, student logits (0, log 3): CE = -(0.5 log .25 + 0.5 log .75)
    student = torch.tensor([[[0.0, math.log(3.0)]], [[0.0, math.log(3.0)]]])
    teacher = torch.full((1, 1, 2), 0.5)
    expected = -(0.5 * math.log(0.25) + 0.5 * math.log(0.75))
    assert abs(dino_cross_entropy(student, teacher).item() - expected) < 1e-6


def test_centre_is_an_ema_of_the_batch_mean_and_sharpening_subtracts_it():
    centre = TeacherCentre(2, momentum=0.9)
    centre.update(torch.tensor([[[1.0, 3.0], [3.0, 5.0]]]))  # batch mean (2, 4)
    torch.testing.assert_close(centre.value, torch.tensor([0.2, 0.4]))
    probs = centre.sharpen(torch.tensor([[[0.2, 0.4]]]), temperature=0.1)
    torch.testing.assert_close(probs, torch.full((1, 1, 2), 0.5))


def test_pu_sample_weights_give_each_part_half_the_total():
    is_positive = torch.tensor([False] * 8 + [True] * 2)
    weights = pu_sample_weights(is_positive)
    torch.testing.assert_close(weights[:8], torch.full((8,), 10 / 16))
    torch.testing.assert_close(weights[8:], torch.full((2,), 10 / 4))
    assert weights[~is_positive].sum() == weights[is_positive].sum()
