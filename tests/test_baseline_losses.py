"""Every baseline loss against values computed by hand on small tensors."""
import math

import pytest
import torch

from angular_dino.baselines import losses

S = torch.tensor([0.5, 1.0, 2.0, 4.0])
POS = torch.tensor([False, False, True, False])


def close(value: torch.Tensor, expected: float) -> bool:
    return math.isclose(float(value.detach()), expected, rel_tol=1e-5, abs_tol=1e-7)


def test_reconstruction_and_deepsvdd_losses():
    assert close(losses.reconstruction_loss(S, POS), (0.5 + 1 + 2 + 4) / 4)
    assert close(losses.deepsvdd_loss(S, POS), (0.25 + 1 + 4 + 16) / 4)


def test_deepsad_gives_labeled_anomalies_the_inverse_distance():
    expected = (0.25 + 1 + 2.0 / (4 + losses.EPS) + 16) / 4
    assert close(losses.deepsad_loss(S, POS, eta=2.0), expected)


def test_abc_uses_minus_log_one_minus_exp_on_labeled_anomalies():
    expected = (0.5 + 1 - math.log(1 - math.exp(-2.0)) + 4) / 4
    assert close(losses.abc_loss(S, POS), expected)


def test_loe_treats_the_alpha_share_with_the_highest_score_as_anomalies():
    s = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    pos = torch.zeros(10, dtype=torch.bool)
    assert losses.latent_outlier_mask(s, 0.2).tolist() == [False] * 8 + [True] * 2
    normal = sum(v * v for v in range(1, 9))
    inverse = sum(1 / (v * v + losses.EPS) for v in (9, 10))
    assert close(losses.loe_loss(s, pos, 0.2, "hard"), (normal + inverse) / 10)
    assert close(losses.loe_loss(s, pos, 0.2, "soft"), (normal + 0.5 * inverse + 0.5 * (81 + 100)) / 10)


def test_soel_adds_labeled_anomalies_to_loe_on_the_unlabeled_part():
    # unlabeled s = 0.5, 1, 4; alpha 0.4 exposes 3 - int(3 * 0.6) = 2 of them (s = 1 and 4)
    unlabeled = S[~POS]
    expected_loe = losses.loe_loss(unlabeled, torch.zeros(3, dtype=torch.bool), 0.4, "hard")
    assert losses.latent_outlier_mask(unlabeled, 0.4).tolist() == [False, True, True]
    assert close(expected_loe, (0.25 + 1 / (1 + losses.EPS) + 1 / (16 + losses.EPS)) / 3)
    assert close(losses.soel_loss(S, POS, 0.4, "hard"), 1 / (4 + losses.EPS) + float(expected_loe))


def test_puae_risk_by_hand():
    alpha = 0.1
    risk_p = alpha * -math.log(1 - math.exp(-2.0))
    risk_n = (0.5 + 1 + 4) / 3 - alpha * 2.0
    assert close(losses.puae_loss(S, POS, alpha), risk_p + abs(risk_n))


def test_pusvdd_risk_takes_the_absolute_value_of_a_negative_unlabeled_risk():
    s = torch.tensor([0.1, 3.0])
    pos = torch.tensor([False, True])
    alpha = 0.5
    risk_p = alpha / (9 + losses.EPS)
    risk_n = 0.01 - alpha * 9  # negative: |R_N| = 4.49
    assert close(losses.pusvdd_loss(s, pos, alpha), risk_p + abs(risk_n))


def test_nnpu_value_is_the_non_negative_risk_and_its_gradient_follows_kiryo():
    sigmoid = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    logits = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    pos = torch.tensor([False, False, True])
    prior = 0.3
    risk_p = prior * sigmoid(-2.0)
    risk_n = (sigmoid(-1.0) + sigmoid(0.0)) / 2 - prior * sigmoid(2.0)
    assert risk_n > 0
    assert close(losses.nnpu_loss(logits, pos, prior), risk_p + risk_n)
    # a negative R_N: the value is R_P alone and the gradient is that of -R_N
    logits = torch.tensor([-6.0, 3.0], requires_grad=True)
    pos = torch.tensor([False, True])
    prior = 0.9
    risk_n = sigmoid(-6.0) - prior * sigmoid(3.0)
    assert risk_n < 0
    value = losses.nnpu_loss(logits, pos, prior)
    assert close(value, prior * sigmoid(-3.0))
    value.backward()
    d = lambda z: sigmoid(z) * (1 - sigmoid(z))  # noqa: E731
    assert torch.allclose(logits.grad, torch.tensor([-d(-6.0), prior * d(3.0)]), atol=1e-6)


@pytest.mark.parametrize("loss", [losses.puae_loss, losses.pusvdd_loss, losses.deepsad_loss, losses.abc_loss,
                                  losses.soel_loss, losses.nnpu_loss])
def test_batches_without_labeled_anomalies_stay_finite(loss):
    s = torch.tensor([0.0, 0.3, 1.2])
    assert torch.isfinite(loss(s, torch.zeros(3, dtype=torch.bool)))
    assert torch.isfinite(loss(s, torch.tensor([True, False, False])))  # s = 0 on a labeled anomaly
