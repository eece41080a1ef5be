"""The PU benchmark protocol of METHOD §2: which images form U, P, validation and test.

All indices point into the dataset's train pool (U, P, validation) or test pool (test). The split
depends only on labels, sizes, classes and the seed, so every method sees identical data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from angular_dino.errors import UserError

NORMAL, SEEN, UNSEEN = 0, 1, 2  # test kinds
TEST_KINDS = {"normal": NORMAL, "seen": SEEN, "unseen": UNSEEN}


def kind_counts(kinds: torch.Tensor) -> dict[str, int]:
    """How many test images there are of each kind: {"normal": ..., "seen": ..., "unseen": ...}."""
    return {name: int((kinds == kind).sum()) for name, kind in TEST_KINDS.items()}


@dataclass(frozen=True)
class PUSizes:
    n_unlabeled_normal: int = 4500
    n_unlabeled_anomaly: int = 250
    n_positive: int = 250
    n_test_normal: int = 1000  # an upper bound: all normal test images when fewer
    n_test_seen: int = 500
    n_test_unseen: int = 500
    val_fraction: float = 0.1


@dataclass(frozen=True)
class PUSplit:
    train_unlabeled: torch.Tensor  # indices into the train pool
    train_positive: torch.Tensor
    val_unlabeled: torch.Tensor
    val_positive: torch.Tensor
    test: torch.Tensor  # indices into the test pool
    test_kind: torch.Tensor  # NORMAL, SEEN or UNSEEN per test index


def _take(rng: np.random.Generator, pool: np.ndarray, count: int, what: str, have: str) -> np.ndarray:
    """`count` distinct random items of `pool`, or a clear error naming the numbers."""
    if count > len(pool):
        raise UserError(f"too few images for the PU split: {what} = {count}, but only {len(pool)} are "
                        f"available ({have}); lower the size or pick other classes")
    return rng.permutation(pool)[:count]


UNLABELED_STREAM, POSITIVE_STREAM = 1, 2  # the validation hold-out's own random streams


def holdout(indices: np.ndarray, fraction: float, seed: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """Split `indices` into (train, validation), `fraction` held out; both parts sorted.

    The draw has its own random stream and acts on positions in sorted order, so any source that lists
    the same images in the same order (a folder written from this split) holds out the same ones.
    """
    ordered = np.sort(indices)
    shuffled = np.random.default_rng([seed, stream]).permutation(len(ordered))
    n_val = int(round(fraction * len(ordered)))
    return ordered[np.sort(shuffled[n_val:])], ordered[np.sort(shuffled[:n_val])]


def holdout_pu(unlabeled: np.ndarray, positive: np.ndarray, fraction: float,
               seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train U, validation U, train P, validation P): `fraction` of U and of P held out (stratified); P may be empty
    (the Python API's training without labeled anomalies), but a P that is given must keep training images."""
    train_u, val_u = holdout(unlabeled, fraction, seed, UNLABELED_STREAM)
    train_p, val_p = holdout(positive, fraction, seed, POSITIVE_STREAM)
    if len(train_u) == 0 or (len(positive) and len(train_p) == 0):  # no P at all: training without labels
        raise UserError(f"holding out val_fraction = {fraction} leaves {len(train_u)} unlabeled and {len(train_p)} "
                        "positive training images; add images (or raise n_positive / n_unlabeled_normal) "
                        "or lower val_fraction")
    return train_u, val_u, train_p, val_p


def make_pu_split(train_labels: torch.Tensor, test_labels: torch.Tensor, normal_class: int,
                  unseen_class: int | None, sizes: PUSizes, seed: int) -> PUSplit:
    """Draw U = normal + contamination, P from the seen anomaly classes, validation, and test.

    Contamination and P come from the classes other than the normal and the unseen class; the
    validation part is `val_fraction` of U and of P (stratified), held out of training.
    """
    rng = np.random.default_rng(seed)
    train = train_labels.numpy()
    test = test_labels.numpy()
    excluded = [normal_class] + ([] if unseen_class is None else [unseen_class])
    seen_train = np.flatnonzero(~np.isin(train, excluded))
    normal_train = np.flatnonzero(train == normal_class)

    u_normal = _take(rng, normal_train, sizes.n_unlabeled_normal, "n_unlabeled_normal",
                     f"normal class {normal_class} in the train pool")
    n_anomalous = sizes.n_unlabeled_anomaly + sizes.n_positive
    anomalous = _take(rng, seen_train, n_anomalous, "n_unlabeled_anomaly + n_positive",
                      "the seen anomaly classes in the train pool")
    unlabeled = np.concatenate([u_normal, anomalous[:sizes.n_unlabeled_anomaly]])
    positive = anomalous[sizes.n_unlabeled_anomaly:]
    train_u, val_u, train_p, val_p = holdout_pu(unlabeled, positive, sizes.val_fraction, seed)

    normal_test = np.flatnonzero(test == normal_class)
    test_normal = _take(rng, normal_test, min(sizes.n_test_normal, len(normal_test)), "n_test_normal",
                        f"normal class {normal_class} in the test pool")
    test_seen = _take(rng, np.flatnonzero(~np.isin(test, excluded)), sizes.n_test_seen, "n_test_seen",
                      "the seen anomaly classes in the test pool")
    parts = [test_normal, test_seen]
    if unseen_class is not None:
        parts.append(_take(rng, np.flatnonzero(test == unseen_class), sizes.n_test_unseen, "n_test_unseen",
                           f"unseen class {unseen_class} in the test pool"))
    kinds = np.concatenate([np.full(len(p), kind) for kind, p in zip((NORMAL, SEEN, UNSEEN), parts)])
    as_tensor = torch.from_numpy
    return PUSplit(as_tensor(train_u), as_tensor(train_p), as_tensor(val_u), as_tensor(val_p),
                   as_tensor(np.concatenate(parts)), as_tensor(kinds))
