"""Every detector is a scikit-learn estimator in the style of PyOD: parameters from the config, scikit-learn's own
checks, clone and Pipeline, PyOD's fitted attributes and probabilities, fit without labels, verbose."""
import inspect

import numpy as np
import pytest
import torch
from scipy.special import erf
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_estimator

from angular_dino import AngularDINO, load_detector
from angular_dino.config.schema import FIELDS, HINTS, RUN_KEYS
from angular_dino.detection.parameters import INPUT_PARAMETERS, UnknownParameter, method_keys
from angular_dino.errors import UserError
from angular_dino.method.prototypes import IdentifiedPrototypes, anomaly_score, identify_prototypes
from angular_dino.runs.registry import DETECTORS

# A tiny AngularDINO (8×8 digits, 2 epochs, seconds on one core); fp32 so the figures do not depend on AMX.
TINY = {"arch": "resnet_tiny", "epochs": 2, "batch_size": 16, "local_crops_number": 0, "prototype_num": 20,
        "pt_num": 3, "num_threads": 1, "precision": "fp32", "device": "cpu"}
INPUT_NAMES = [p.name for p in INPUT_PARAMETERS]

# scikit-learn's checks (`check_estimator`) that do not apply, with the reason. They feed generic feature matrices (2 to 10 columns of
# standard-normal or uniform values); a detector reads rows as images, so every check that must fit on such a matrix
# meets the clear error for rows that are not square images, or for values on no pixel scale. The checks of
# parameters, cloning, repr, tags, unfitted use and refused input (empty, complex, sparse, negative) do run.
NOT_IMAGES = "fits on a generic feature matrix whose rows are not square images (or not on a pixel scale)"
EXPECTED_FAILED_CHECKS = {name: NOT_IMAGES for name in (
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_estimators_dtypes", "check_dtype_object", "check_pipeline_consistency", "check_estimators_nan_inf",
    "check_estimators_pickle", "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
    "check_n_features_in", "check_fit2d_predict1d")}
EXPECTED_FAILED_CHECKS.update({
    "check_fit2d_1sample": "expects sklearn's '1 sample' message; ten values per row are refused first (not square)",
    "check_fit2d_1feature": "expects sklearn's '1 feature(s)' message; a 1×1 image of values on no pixel scale is "
                            "refused first"})


# Keys a baseline's run reads that are not its estimator's parameters: `image_size` is the size the run loads the data
# at (a baseline then resizes to baseline_image_size, its `image_size` parameter); a deep baseline's
# `baseline_precision` resolves to its `bf16` parameter.
NOT_PARAMETERS = {method: {"image_size"} | ({"baseline_precision"} if method != "iforest" else set())
                  for method in DETECTORS if method != "angular_dino"}


def tiny_detector(cls):
    return cls(**TINY) if cls is AngularDINO else cls(epochs=1, image_size=8, batch_size=8, device="cpu") \
        if "epochs" in inspect.signature(cls).parameters else cls(iforest_trees=5)


@pytest.mark.parametrize("cls", DETECTORS.values(), ids=list(DETECTORS))
def test_scikit_learns_checks_pass_where_they_apply(cls):
    """Every check of `check_estimator` runs; those listed must fail (the list stays true), the others must pass."""
    results = check_estimator(tiny_detector(cls), expected_failed_checks=EXPECTED_FAILED_CHECKS, on_fail=None,
                              on_skip=None)
    status = {result["check_name"]: result["status"] for result in results}
    assert {name for name, s in status.items() if s == "failed"} == set()
    assert {name for name, s in status.items() if s == "xfail"} == set(EXPECTED_FAILED_CHECKS)
    for name in ("check_estimator_cloneable", "check_estimator_repr", "check_no_attributes_set_in_init",
                 "check_parameters_default_constructible", "check_get_params_invariance", "check_set_params",
                 "check_do_not_raise_errors_in_init_or_set_params", "check_estimators_unfitted",
                 "check_estimators_empty_data_messages", "check_complex_data", "check_estimator_sparse_array",
                 "check_positive_only_tag_during_fit"):
        assert status[name] == "passed"


# --- parameters ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", list(DETECTORS))
def test_parameters_are_the_config_keys_the_method_reads(method):
    cls = DETECTORS[method]
    signature = inspect.signature(cls)
    parameters = {p.name: p for p in cls.parameters()}
    assert list(signature.parameters) == list(parameters) and list(parameters)[-3:] == INPUT_NAMES
    keys = {p.key for p in parameters.values() if p.key}
    assert keys == set(method_keys(method)) - NOT_PARAMETERS.get(method, set())  # every key it reads, none other
    for p in parameters.values():
        if p.key:
            assert signature.parameters[p.name].default == FIELDS[p.key].default
            assert signature.parameters[p.name].annotation == HINTS[p.key]
            assert p.doc in cls.__init__.__doc__
    assert set(RUN_KEYS) <= set(FIELDS)


def test_every_angular_dino_config_key_but_the_run_keys_is_a_parameter():
    read = {name for name, f in FIELDS.items() if "angular_dino" in f.metadata["methods"]} - set(RUN_KEYS)
    assert read <= set(inspect.signature(AngularDINO).parameters)
    assert "epochs" in read and "margin" in read and "dataset" not in read


def test_parameters_are_stored_unchanged_and_checked_by_fit():
    detector = AngularDINO(epochs=-5, margin_type="sideways")  # scikit-learn's rule: no check in __init__
    assert detector.get_params()["epochs"] == -5 and repr(detector) == "AngularDINO(epochs=-5, margin_type='sideways')"
    with pytest.raises(UserError, match="margin_type: must be one of(.|\n)*epochs: must be at least 1"):
        detector.fit(np.zeros((4, 8, 8)))
    assert detector.set_params(epochs=3, margin_type="both").get_params()["epochs"] == 3
    assert AngularDINO(**TINY)._checked_settings().arch == "resnet_tiny"  # the values reach the config fit uses
    with pytest.raises(UnknownParameter, match="no parameter `margins`; did you mean `margin`"):
        AngularDINO(margins=0.1)
    with pytest.raises(TypeError):  # keyword-only, as the signature says
        AngularDINO(3)


# --- fitting as scikit-learn and PyOD do ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    """80 digits as floats 0..16: U = 60 images (zeros, with 6 other digits), P = 10 other digits, then 10 more."""
    data = load_digits()
    zeros, others = np.flatnonzero(data.target == 0)[:54], np.flatnonzero(data.target != 0)[:26]
    order = np.r_[zeros, others[:6], others[6:16], others[16:]]
    y = np.r_[np.zeros(60), np.ones(10), np.zeros(10)].astype(int)
    return data.images[order], y


def test_a_clone_fits_and_has_pyods_fitted_attributes(digits, capsys, tmp_path):
    images, y = digits
    original = AngularDINO(**TINY, value_range=(0, 16), verbose=1)
    detector = clone(original).fit(images, y)
    assert detector is not original and not hasattr(original, "threshold_")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"] and "val_pu_auroc" in lines[0]
    assert detector.decision_scores_.shape == (80,) and detector.labels_.dtype == np.int64
    np.testing.assert_array_equal(detector.decision_scores_, detector.decision_function(images))
    np.testing.assert_array_equal(detector.labels_, detector.predict(images))
    proba = detector.predict_proba(images[:5])
    np.testing.assert_allclose(proba.sum(1), 1.0) and np.testing.assert_array_equal(
        proba[:, 1], (detector.decision_scores_[:5] - detector.decision_scores_.min()) / np.ptp(detector.decision_scores_))
    detector.save(tmp_path / "model.pt")
    saved = torch.load(tmp_path / "model.pt", weights_only=True)["config"]
    assert "dataset" not in saved and saved["value_range"] == (0, 16)  # the estimator's settings, not a run's
    loaded = AngularDINO.load(tmp_path / "model.pt")
    assert loaded.value_range == (0, 16) and loaded.epochs == 2 and loaded.image_size == 8  # resolved settings
    np.testing.assert_array_equal(loaded.predict_proba(images), detector.predict_proba(images))


def test_a_pipeline_fits_and_scores_flat_rows(digits):
    images, y = digits
    rows = images.reshape(len(images), 64)  # as digits.data: flat 8×8 rows
    pipeline = make_pipeline(FunctionTransformer(lambda X: X / 16), AngularDINO(**TINY))
    pipeline.fit(rows, y)
    scores = pipeline.decision_function(rows)
    assert scores.shape == (80,) and np.isfinite(scores).all()
    assert set(np.unique(pipeline.predict(rows))) <= {0, 1}
    same = AngularDINO(**TINY, value_range=(0, 16)).fit(images, y)  # the same images, read through value_range
    np.testing.assert_array_equal(same.decision_function(images), scores)


def test_digits_floats_without_a_value_range_are_a_clear_error(digits):
    with pytest.raises(UserError, match=r"\[0, 16\], on neither the \[0, 1\] nor the \[0, 255\] scale"):
        AngularDINO(**TINY).fit(digits[0], digits[1])


def test_fit_without_labels_trains_on_unlabeled_images_only(digits):
    images, _ = digits
    detector = AngularDINO(**{**TINY, "contamination": 0.1}, value_range=(0, 16)).fit(images)
    assert detector.anomaly_prototypes_ == () and len(detector.normal_prototypes_) == TINY["pt_num"]
    assert detector.history_[-1]["val_pu_auroc"] is None  # no labeled anomalies to validate with
    # the threshold is the contamination quantile of the unlabeled training scores, whatever threshold_rule says
    assert 0.05 <= detector.labels_.mean() <= 0.15
    same = AngularDINO(**{**TINY, "contamination": 0.1}, value_range=(0, 16)).fit(images, np.zeros(80))
    np.testing.assert_array_equal(same.decision_scores_, detector.decision_scores_)  # y all 0 is the same mode
    with pytest.raises(UserError, match=r"NNPU \(pu\) learns labeled anomalies against unlabeled images"):
        DETECTORS["pu"](epochs=1, image_size=8).fit(images / 16)
    ae = DETECTORS["ae"](epochs=1, image_size=8, batch_size=16, value_range=(0, 16)).fit(images)
    assert ae.decision_scores_.shape == (80,)


def test_without_positives_the_normal_prototypes_are_the_most_voted_and_the_score_is_their_negative_cosine():
    cos = torch.tensor([[0.9, 0.1, 0.0, -0.2], [0.8, 0.3, 0.1, 0.0], [0.7, 0.0, 0.6, 0.0]])
    found = identify_prototypes(cos, torch.zeros(3, dtype=torch.bool), top_k=2, pt_num=1)
    assert found == IdentifiedPrototypes(normal=(0,), anomaly=())
    torch.testing.assert_close(anomaly_score(cos, found), -cos[:, 0])


def test_predict_proba_follows_pyod(digits):
    images, y = digits
    detector = DETECTORS["iforest"](iforest_trees=20, value_range=(0, 16)).fit(images, y)
    train = detector.decision_scores_
    test = detector.decision_function(images[::-1])
    linear = detector.predict_proba(images[::-1])[:, 1]
    np.testing.assert_allclose(linear, ((test - train.min()) / (train.max() - train.min())).clip(0, 1))
    unify = detector.predict_proba(images[::-1], method="unify")[:, 1]
    np.testing.assert_allclose(unify, erf((test - train.mean()) / (train.std() * np.sqrt(2))).clip(0, 1))
    with pytest.raises(UserError, match="linear, unify"):
        detector.predict_proba(images, method="softmax")
    assert detector.fit_predict(images, y).tolist() == detector.labels_.tolist()


def test_save_and_load_keep_the_training_scores_and_the_input_parameters(digits, tmp_path):
    images, y = digits
    detector = DETECTORS["iforest"](iforest_trees=5, value_range=(0, 16)).fit(images, y)
    detector.save(tmp_path / "model.pt")
    loaded = load_detector(tmp_path / "model.pt")
    assert loaded.get_params() == detector.get_params()
    np.testing.assert_array_equal(loaded.decision_scores_, detector.decision_scores_)
    np.testing.assert_array_equal(loaded.labels_, detector.labels_)
    np.testing.assert_array_equal(loaded.predict_proba(images), detector.predict_proba(images))


def test_pipeline_of_a_baseline_with_set_params(digits):
    images, y = digits
    pipeline = Pipeline([("scale", FunctionTransformer(lambda X: X / 16)), ("detector", DETECTORS["iforest"]())])
    pipeline.set_params(detector__iforest_trees=7).fit(images, y)
    assert len(pipeline[-1].trees_["left"]) == 7 and pipeline.decision_function(images).shape == (80,)
