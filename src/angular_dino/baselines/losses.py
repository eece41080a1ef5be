"""The training losses of the Deep PU baselines (METHOD §10), as pure functions of per-sample outputs.

Every function takes `s`, one value per sample (the reconstruction error of an autoencoder, the
distance of a code to the SVDD centre, or a classifier's logit), and `is_positive` (True = labeled
anomaly), and returns a scalar to minimise. Means over an empty group (a batch without labeled
anomalies) count as 0, so a batch never yields NaN for lack of one kind of sample.
"""
from __future__ import annotations

import torch

EPS = 1e-6  # keeps 1/s² and log(1 − e^{−s}) finite at s = 0 (Deep SAD's eps)
LOE_MODES = ("soft", "hard")


def _mean_where(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of `values` over `mask` (0 when empty); `where` so that inf outside the mask cannot leak NaN."""
    return torch.where(mask, values, torch.zeros_like(values)).sum() / mask.sum().clamp(min=1)


def svdd_normal_loss(s: torch.Tensor) -> torch.Tensor:
    """ℓ⁻(s) = s² for the SVDD family: pull a code towards the centre."""
    return s.pow(2)


def svdd_anomaly_loss(s: torch.Tensor) -> torch.Tensor:
    """ℓ⁺(s) = 1/(s² + ε) for the SVDD family: push a code away from the centre (Deep SAD's inverse distance)."""
    return 1.0 / (s.pow(2) + EPS)


def ae_anomaly_loss(s: torch.Tensor) -> torch.Tensor:
    """ℓ⁺(s) = −log(1 − e^{−s}) for the AE family: large for a well reconstructed anomaly (ABC's term)."""
    return -torch.log(-torch.expm1(-s.clamp(min=EPS)))


def reconstruction_loss(s: torch.Tensor, is_positive: torch.Tensor) -> torch.Tensor:
    """AE: mean reconstruction error, every sample treated as normal (the AE baseline sees U only)."""
    return s.mean()


def deepsvdd_loss(s: torch.Tensor, is_positive: torch.Tensor) -> torch.Tensor:
    """One-class Deep SVDD (Ruff et al., ICML 2018): mean ‖φ(x) − c‖² (trained on U only)."""
    return svdd_normal_loss(s).mean()


def deepsad_loss(s: torch.Tensor, is_positive: torch.Tensor, eta: float = 1.0) -> torch.Tensor:
    """Deep SAD (Ruff et al., ICLR 2020): batch mean of s² (unlabeled) and η/(s² + ε) (labeled anomalies)."""
    return torch.where(is_positive, eta * svdd_anomaly_loss(s), svdd_normal_loss(s)).mean()


def abc_loss(s: torch.Tensor, is_positive: torch.Tensor) -> torch.Tensor:
    """ABC, autoencoding binary classifier (Yamanaka et al., AAAI 2019): batch mean of s (unlabeled) and
    −log(1 − e^{−s}) (labeled anomalies)."""
    return torch.where(is_positive, ae_anomaly_loss(s), s).mean()


def latent_outlier_mask(s: torch.Tensor, alpha: float) -> torch.Tensor:
    """The α share of samples with the highest s: n − ⌊(1 − α)·n⌋ of them (ranked without gradient)."""
    n_anomalous = len(s) - int(len(s) * (1.0 - alpha))
    mask = torch.zeros_like(s, dtype=torch.bool)
    if n_anomalous > 0:
        mask[torch.topk(s.detach(), n_anomalous).indices] = True
    return mask


def loe_loss(s: torch.Tensor, is_positive: torch.Tensor, alpha: float = 0.1, mode: str = "soft") -> torch.Tensor:
    """LOE, latent outlier exposure (Qiu et al., ICML 2022) on the SVDD base.

    Within the batch, the α share of samples with the highest s are taken as anomalies: `hard` gives
    them ℓ⁺ = 1/(s² + ε), `soft` (LOE_S, the default) 0.5·ℓ⁻ + 0.5·ℓ⁺; the others get ℓ⁻ = s². The mean
    is taken over the batch. LOE is unsupervised: `is_positive` is ignored (the method sees U only).
    """
    weight = 1.0 if mode == "hard" else 0.5
    anomalous = latent_outlier_mask(s, alpha)
    exposed = weight * svdd_anomaly_loss(s) + (1.0 - weight) * svdd_normal_loss(s)
    return torch.where(anomalous, exposed, svdd_normal_loss(s)).mean()


def soel_loss(s: torch.Tensor, is_positive: torch.Tensor, alpha: float = 0.1, mode: str = "soft") -> torch.Tensor:
    """SOEL (Li et al., ICML 2023): mean ℓ⁺ over labeled anomalies + LOE over the unlabeled samples (SVDD base)."""
    unlabeled = ~is_positive
    labeled_term = _mean_where(svdd_anomaly_loss(s), is_positive)
    if not unlabeled.any():
        return labeled_term
    return labeled_term + loe_loss(s[unlabeled], is_positive[unlabeled], alpha, mode)


def nnpu_loss(logits: torch.Tensor, is_positive: torch.Tensor, prior: float = 0.1) -> torch.Tensor:
    """nnPU (Kiryo et al., NeurIPS 2017) with the sigmoid loss; positive = labeled anomaly, prior = α.

    R_P = π·mean_P σ(−g), R_N = mean_U σ(g) − π·mean_P σ(g). The value is the non-negative risk
    R_P + max(0, R_N); when R_N < 0 the gradient is that of −R_N (Kiryo's Algorithm 1 with β = 0,
    γ = 1), which pushes the negative risk back up instead of overfitting P. No host sync: `where`.
    """
    unlabeled = ~is_positive
    risk_p = prior * _mean_where(torch.sigmoid(-logits), is_positive)
    risk_n = _mean_where(torch.sigmoid(logits), unlabeled) - prior * _mean_where(torch.sigmoid(logits), is_positive)
    corrective = risk_p.detach() - risk_n + risk_n.detach()  # value R_P, gradient −∇R_N
    return torch.where(risk_n >= 0, risk_p + risk_n, corrective)


def _pu_risk(neg: torch.Tensor, pos: torch.Tensor, is_positive: torch.Tensor, alpha: float) -> torch.Tensor:
    """R_P + |R_N| with R_P = α·mean_P ℓ⁺ and R_N = mean_U ℓ⁻ − α·mean_P ℓ⁻ (METHOD §10)."""
    risk_p = alpha * _mean_where(pos, is_positive)
    risk_n = _mean_where(neg, ~is_positive) - alpha * _mean_where(neg, is_positive)
    return risk_p + risk_n.abs()


def puae_loss(s: torch.Tensor, is_positive: torch.Tensor, alpha: float = 0.1) -> torch.Tensor:
    """PUAE (Takahashi et al., Deep PU anomaly detection, 2024): ℓ⁻ = s, ℓ⁺ = −log(1 − e^{−s}), R_P + |R_N|."""
    return _pu_risk(s, ae_anomaly_loss(s), is_positive, alpha)


def pusvdd_loss(s: torch.Tensor, is_positive: torch.Tensor, alpha: float = 0.1) -> torch.Tensor:
    """PUSVDD (Takahashi et al., 2024): ℓ⁻ = s², ℓ⁺ = 1/(s² + ε), loss R_P + |R_N|."""
    return _pu_risk(svdd_normal_loss(s), svdd_anomaly_loss(s), is_positive, alpha)
