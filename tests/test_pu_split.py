"""The PU protocol of METHOD §2: counts, disjointness, determinism and clear errors."""
import re

import pytest
import torch

from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN, PUSizes, make_pu_split
from angular_dino.errors import UserError

TRAIN = torch.arange(10).repeat_interleave(600)  # 600 train images per class
TEST = torch.arange(10).repeat_interleave(100)
SIZES = PUSizes(n_unlabeled_normal=450, n_unlabeled_anomaly=25, n_positive=25, n_test_normal=80,
                n_test_seen=50, n_test_unseen=40, val_fraction=0.1)


def split(seed=0, sizes=SIZES, normal=3, unseen=7):
    return make_pu_split(TRAIN, TEST, normal, unseen, sizes, seed)


def test_counts_follow_the_protocol():
    s = split()
    assert len(s.train_unlabeled) + len(s.val_unlabeled) == 475
    assert len(s.train_positive) + len(s.val_positive) == 25
    assert len(s.val_unlabeled) == round(0.1 * 475) and len(s.val_positive) == round(0.1 * 25)
    kinds = s.test_kind.tolist()
    assert kinds.count(NORMAL) == 80 and kinds.count(SEEN) == 50 and kinds.count(UNSEEN) == 40


def test_classes_of_each_part():
    s = split()
    unlabeled = TRAIN[torch.cat([s.train_unlabeled, s.val_unlabeled])]
    positive = TRAIN[torch.cat([s.train_positive, s.val_positive])]
    assert (unlabeled == 3).sum() == 450
    assert not torch.isin(unlabeled[unlabeled != 3], torch.tensor([3, 7])).any()
    assert not torch.isin(positive, torch.tensor([3, 7])).any()
    test = TEST[s.test]
    assert (test[s.test_kind == NORMAL] == 3).all() and (test[s.test_kind == UNSEEN] == 7).all()
    assert not torch.isin(test[s.test_kind == SEEN], torch.tensor([3, 7])).any()


def test_parts_are_disjoint():
    s = split()
    train_parts = torch.cat([s.train_unlabeled, s.train_positive, s.val_unlabeled, s.val_positive])
    assert len(train_parts.unique()) == len(train_parts)
    assert len(s.test.unique()) == len(s.test)


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = split(seed=5), split(seed=5), split(seed=6)
    for field in ("train_unlabeled", "train_positive", "val_unlabeled", "val_positive", "test"):
        assert torch.equal(getattr(a, field), getattr(b, field))
    assert not torch.equal(a.train_unlabeled, c.train_unlabeled)


def test_normal_test_count_is_an_upper_bound():
    sizes = PUSizes(**{**SIZES.__dict__, "n_test_normal": 1000})
    assert (split(sizes=sizes).test_kind == NORMAL).sum() == 100


def test_no_unseen_class_gives_no_unseen_test_images():
    s = split(unseen=None)
    assert (s.test_kind == UNSEEN).sum() == 0


@pytest.mark.parametrize("field, value, message", [
    ("n_unlabeled_normal", 601, "n_unlabeled_normal = 601, but only 600 are available (normal class 3 in the "
                                "train pool)"),
    ("n_positive", 4800, "n_unlabeled_anomaly + n_positive = 4825, but only 4800 are available"),
    ("n_test_unseen", 101, "n_test_unseen = 101, but only 100 are available (unseen class 7 in the test pool)"),
])
def test_too_few_images_is_a_clear_error_with_the_numbers(field, value, message):
    sizes = PUSizes(**{**SIZES.__dict__, field: value})
    with pytest.raises(UserError, match=re.escape(message)):
        split(sizes=sizes)
