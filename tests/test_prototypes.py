"""Prototype identification on a constructed example, and the anomaly score."""
import torch

from angular_dino.method.prototypes import (IdentifiedPrototypes, anomaly_score, identify_prototypes, margin_targets,
                                     vote_scores)


def constructed_cosines():
    # 6 prototypes: 0,1 near U images; 4,5 near P images; 2 liked by both; 3 by nobody
    u = torch.tensor([[0.9, 0.8, 0.5, -0.9, 0.1, 0.0]] * 8)
    p = torch.tensor([[0.1, 0.0, 0.5, -0.9, 0.9, 0.8]] * 2)
    return torch.cat([u, p]), torch.tensor([False] * 8 + [True] * 2)


def test_identification_finds_the_constructed_normal_and_anomaly_prototypes():
    cos, is_positive = constructed_cosines()
    found = identify_prototypes(cos, is_positive, top_k=3, pt_num=2)
    assert found == IdentifiedPrototypes(normal=(0, 1), anomaly=(4, 5))


def test_votes_add_cosines_of_the_top_k_only():
    cos = torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.8, 0.7]])
    torch.testing.assert_close(vote_scores(cos, top_k=2), torch.tensor([0.45, 0.4, 0.6]))


def test_a_prototype_is_never_both_normal_and_anomalous():
    cos = torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0]])
    found = identify_prototypes(cos, torch.tensor([False, True]), top_k=1, pt_num=1)
    assert set(found.normal).isdisjoint(found.anomaly)


def test_score_is_mean_anomaly_cosine_minus_mean_normal_cosine():
    cos = torch.tensor([[0.9, 0.7, 0.1, 0.3], [0.0, 0.2, 0.8, 0.6]])
    score = anomaly_score(cos, IdentifiedPrototypes(normal=(0, 1), anomaly=(2, 3)))
    torch.testing.assert_close(score, torch.tensor([0.2 - 0.8, 0.7 - 0.1]))


def test_margin_targets_pair_u_with_normal_and_p_with_anomaly_prototypes():
    mask = margin_targets(torch.tensor([False, True]), IdentifiedPrototypes(normal=(0,), anomaly=(2,)), 3)
    assert mask.tolist() == [[True, False, False], [False, False, True]]
