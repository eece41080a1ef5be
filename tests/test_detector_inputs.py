"""Input conversion of the detector API and the threshold rules."""
import numpy as np
import pytest
import torch

from angular_dino.data.images import as_images, as_pu_labels
from angular_dino.data.prepare import PUParts
from angular_dino.detection.threshold import best_f1_threshold, contamination_threshold, fitted_threshold
from angular_dino.errors import UserError


@pytest.mark.parametrize("shape, expected", [((4, 8, 9), (4, 1, 8, 9)), ((4, 3, 8, 9), (4, 3, 8, 9)),
                                             ((4, 8, 9, 3), (4, 3, 8, 9)), ((4, 1, 8, 8), (4, 1, 8, 8))])
def test_as_images_accepts_common_layouts(shape, expected):
    images = as_images(np.zeros(shape, dtype=np.uint8))
    assert images.shape == expected and images.dtype == torch.uint8


def test_as_images_scales_unit_floats_and_keeps_byte_range_floats():
    assert as_images(np.full((1, 2, 2), 1.0)).max() == 255
    assert as_images(np.array([[[17.0, 200.0]]])).tolist() == [[[[17, 200]]]]


def test_floats_on_neither_scale_need_a_value_range():
    digits_like = np.array([[[0.0, 4.0], [16.0, 8.0]]])  # scikit-learn's digits hold 0..16
    with pytest.raises(UserError, match=r"neither the \[0, 1\] nor the \[0, 255\] scale; pass value_range"):
        as_images(digits_like)
    assert as_images(digits_like, value_range=(0, 16)).tolist() == [[[[0, 64], [255, 128]]]]
    with pytest.raises(UserError, match="outside value_range"):
        as_images(digits_like, value_range=(0, 10))
    with pytest.raises(UserError, match="low < high"):
        as_images(digits_like, value_range=(16, 0))
    assert as_images(np.array([[[0, 16]]], dtype=np.uint8), value_range=(0, 16)).max() == 16  # uint8 is bytes


def test_flat_rows_are_square_images_or_take_an_image_shape():
    rows = np.arange(2 * 16, dtype=np.uint8).reshape(2, 16)
    assert as_images(rows).tolist() == rows.reshape(2, 1, 4, 4).tolist()
    assert as_images(rows, image_shape=(2, 8)).shape == (2, 1, 2, 8)
    colour = np.arange(2 * 27, dtype=np.uint8).reshape(2, 27)
    assert as_images(colour, image_shape=(3, 3, 3)).tolist() == colour.reshape(2, 3, 3, 3).tolist()
    with pytest.raises(UserError, match="27 values per row are not square; pass image_shape"):
        as_images(colour)
    with pytest.raises(UserError, match=r"image_shape \(4, 4\) does not hold the 27 values"):
        as_images(colour, image_shape=(4, 4))


@pytest.mark.parametrize("bad, message", [(np.zeros((2, 5, 8, 8)), "channels"), (np.zeros((8, 8)), "shape"),
                                          (np.full((1, 2, 2), np.nan), "NaN"), (np.full((1, 2, 2), -3.0), "Negative values"),
                                          (np.zeros((0, 4)), "0 sample"), (np.zeros((3, 5)), "not square"),
                                          ("not images", "numbers")])
def test_as_images_rejects_bad_input_clearly(bad, message):
    with pytest.raises(ValueError, match=message):  # a UserError that is also a ValueError, as scikit-learn expects
        as_images(bad)


def test_as_pu_labels_checks_values_and_length_and_none_means_all_unlabeled():
    assert as_pu_labels([0, 1, 0], 3).tolist() == [False, True, False]
    assert as_pu_labels(None, 2).tolist() == [False, False]
    for y, message in (([0, 2, 1], "nothing else"), ([0, 1], "2 labels for 3")):
        with pytest.raises(UserError, match=message):
            as_pu_labels(y, 3)


def test_best_f1_threshold_against_a_hand_computed_case():
    # thresholds 0.8: P=1,R=1 (F1 1.0); anything lower lets a U image in.
    scores = np.array([0.1, 0.3, 0.5, 0.8, 0.9])
    assert best_f1_threshold(scores, np.array([0, 0, 0, 1, 1])) == 0.8
    # with one U image above a P image, t=0.5 gives P=2/3, R=1 (F1 0.8) and beats t=0.9 (F1 2/3)
    assert best_f1_threshold(scores, np.array([0, 0, 1, 0, 1])) == 0.5


def test_contamination_threshold_marks_that_share_of_unlabeled_scores():
    scores = np.arange(100, dtype=float)
    threshold = contamination_threshold(scores, 0.1)
    assert (scores >= threshold).sum() in (10, 11)


def test_val_f1_needs_both_kinds_in_the_validation_part():
    with pytest.raises(UserError, match="val_fraction"):
        fitted_threshold("val_f1", 0.1, parts([0, 1, 0], [0, 0]), lambda images: np.zeros(len(images)))


def parts(train_is_positive: list[int], val_is_positive: list[int]) -> PUParts:
    """PU parts whose "images" are their positions 0, 1, ... (train part first), to see which ones a rule scores."""
    n, m = len(train_is_positive), len(val_is_positive)
    return PUParts(torch.arange(n), torch.tensor(train_is_positive, dtype=torch.bool), torch.arange(n, n + m),
                   torch.tensor(val_is_positive, dtype=torch.bool))


def test_each_rule_scores_only_the_images_it_needs():
    scored = []

    def scores(images):
        scored.append(images.tolist())
        return images.double().numpy()

    data = parts([0, 1, 0, 0, 1], [0, 1, 0, 1])  # train positions 0-4, validation positions 5-8
    assert fitted_threshold("val_f1", 0.1, data, scores) == 6.0  # P at 6 and 8: t = 6 has the best F1 (0.8)
    assert scored == [[5, 6, 7, 8]]
    scored.clear()
    fitted_threshold("contamination", 0.25, data, scores)
    assert scored == [[0, 2, 3, 5, 7]]  # every unlabeled image: the training part's and the validation part's
