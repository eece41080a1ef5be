"""Figures at the threshold against values worked out by hand, and the orders of the galleries."""
import math

import numpy as np
import pytest

from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN
from angular_dino.detection.metrics import ranked, threshold_metrics, threshold_table, worst_errors

# Seven test images; with threshold 0.65 the flagged ones are positions 0 (normal: a false positive), 1 and 3.
SCORES = np.array([0.9, 0.8, 0.3, 0.7, 0.2, 0.6, np.nan])
KINDS = np.array([NORMAL, SEEN, SEEN, UNSEEN, UNSEEN, NORMAL, SEEN])
LABELS = np.array([0, 1, 2, 9, 9, 0, 1])
NAMES = tuple(f"digit {d}" for d in range(10))


def test_precision_recall_f1_and_confusion_by_hand():
    at = threshold_metrics(SCORES, KINDS, 0.65, LABELS, NAMES)
    # tp: 0.8, 0.7; fp: 0.9; fn: 0.3, 0.2 and the NaN score (never flagged); tn: 0.6
    assert at["confusion"] == {"tn": 1, "fp": 1, "fn": 3, "tp": 2}
    assert at["precision"] == pytest.approx(2 / 3) and at["recall"] == pytest.approx(2 / 5)
    assert at["f1"] == pytest.approx(2 * (2 / 3) * (2 / 5) / (2 / 3 + 2 / 5))  # = 0.5
    assert at["threshold"] == 0.65
    assert at["flagged_by_kind"] == {"normal": {"n": 2, "flagged": 1, "share": 0.5},
                                     "seen": {"n": 3, "flagged": 1, "share": pytest.approx(1 / 3)},
                                     "unseen": {"n": 2, "flagged": 1, "share": 0.5}}
    assert at["flagged_by_class"] == [
        {"class": "digit 0", "kind": "normal", "n": 2, "flagged": 1, "share": 0.5},
        {"class": "digit 1", "kind": "seen", "n": 2, "flagged": 1, "share": 0.5},
        {"class": "digit 2", "kind": "seen", "n": 1, "flagged": 0, "share": 0.0},
        {"class": "digit 9", "kind": "unseen", "n": 2, "flagged": 1, "share": 0.5}]


def test_a_score_equal_to_the_threshold_is_flagged_as_in_score_labels():
    at = threshold_metrics(np.array([0.5, 0.4]), np.array([SEEN, NORMAL]), 0.5)
    assert at["confusion"] == {"tn": 1, "fp": 0, "fn": 0, "tp": 1} and at["f1"] == 1.0


def test_undefined_figures_are_none_not_nan():
    nothing_flagged = threshold_metrics(SCORES, KINDS, 5.0)
    assert nothing_flagged["precision"] is None and nothing_flagged["recall"] == 0.0 and nothing_flagged["f1"] == 0.0
    only_normal = threshold_metrics(np.array([0.1, 0.2]), np.array([NORMAL, NORMAL]), 1.0)
    assert only_normal["recall"] is None and only_normal["f1"] is None
    assert only_normal["flagged_by_kind"]["seen"] == {"n": 0, "flagged": 0, "share": None}
    assert "flagged_by_class" not in threshold_metrics(SCORES, KINDS, 0.65)  # no classes given: none per class
    for threshold in (None, math.nan, math.inf):
        assert threshold_metrics(SCORES, KINDS, threshold) is None


def test_worst_errors_come_worst_first_and_stop_at_k():
    false_positives, false_negatives = worst_errors(SCORES, KINDS, 0.65, k=5)
    assert false_positives.tolist() == [0]
    assert false_negatives.tolist() == [4, 2]  # lowest score first; the NaN score is no image to show
    scores = np.array([0.9, 0.95, 0.7, 0.1, 0.05])
    kinds = np.array([NORMAL, NORMAL, NORMAL, SEEN, UNSEEN])
    assert [a.tolist() for a in worst_errors(scores, kinds, 0.5, k=2)] == [[1, 0], [4, 3]]
    assert [len(a) for a in worst_errors(scores, kinds, math.nan, k=2)] == [0, 0]


def test_ranked_orders_by_score_keeps_ties_and_puts_non_finite_last():
    scores = np.array([0.2, np.nan, 0.9, 0.2, -np.inf, 0.5])
    assert ranked(scores, highest_first=True).tolist() == [2, 5, 0, 3, 1, 4]
    assert ranked(scores, highest_first=False).tolist() == [0, 3, 5, 2, 1, 4]


def test_threshold_table_text():
    text = threshold_table(threshold_metrics(SCORES, KINDS, 0.65, LABELS, NAMES), "val_f1")
    lines = text.splitlines()
    assert lines[0] == "at threshold 0.65 (val_f1): precision 0.6667, recall 0.4000, F1 0.5000"
    assert lines[2].split() == ["normal", "1", "1"] and lines[3].split() == ["anomaly", "2", "3"]
    assert "  digit 2 (seen)" in text and "0/1" in text and "33.3%" in text
    assert threshold_table(None) == "no finite threshold: no figures at the threshold"
