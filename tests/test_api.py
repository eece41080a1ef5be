"""The Python API: AngularDINO(**settings).fit(X, y) is the same model the command line trains, and round-trips."""
import numpy as np
import pytest
import torch

from angular_dino import AngularDINO, load_detector
from angular_dino.config.schema import RUN_KEYS
from angular_dino.data.prepare import hold_out_validation, prepare_pu_data
from angular_dino.data.sources import load_dataset
from angular_dino.detection.metrics import detection_metrics
from angular_dino.errors import UserError
from conftest import DIGITS


def split_as_arrays(config):
    """X = all U images then all P images of the built-in split (pool order), y = 0 / 1."""
    pool = load_dataset(config.dataset, None, False, config.image_size)
    split = prepare_pu_data(config).split
    unlabeled = torch.cat([split.train_unlabeled, split.val_unlabeled]).sort().values
    positive = torch.cat([split.train_positive, split.val_positive]).sort().values
    X = pool.train_images[torch.cat([unlabeled, positive])]
    return X.numpy(), np.r_[np.zeros(len(unlabeled)), np.ones(len(positive))].astype(int)


@pytest.fixture(scope="module")
def fitted(trained_digits):
    config, result = trained_digits
    X, y = split_as_arrays(config)
    settings = {k: v for k, v in DIGITS.items() if k not in RUN_KEYS}  # where the data came from is X and y here
    detector = AngularDINO(**settings, augmentation="digits").fit(X[:, 0], y)  # N×H×W input
    return detector, config, result


@pytest.mark.slow
def test_fit_trains_the_same_model_as_the_command_line(fitted):
    detector, config, result = fitted
    data = prepare_pu_data(config)
    metrics = detection_metrics(torch.from_numpy(detector.decision_function(data.test_images)), data.test_kind)
    assert detector.threshold_ == result["threshold"]
    assert list(detector.normal_prototypes_) == result["prototypes"]["normal"]
    assert list(detector.anomaly_prototypes_) == result["prototypes"]["anomaly"]
    assert metrics["auroc"] == result["auroc"]
    assert metrics["auroc"]["all"] > 0.85  # well above chance (0.5)


@pytest.mark.slow
def test_fitted_attributes_and_predict(fitted):
    detector, config, _ = fitted
    assert len(detector.history_) == config.epochs and "val_pu_auroc" in detector.history_[-1]
    assert detector.input_shape_ == (1, 16, 16)
    assert detector.prototype_vectors_.shape == (config.prototype_num, config.emb_dim)
    X = prepare_pu_data(config).test_images
    scores = detector.decision_function(X.float() / 255)  # float input in [0, 1] means the same images
    assert np.array_equal(scores, detector.decision_function(X))
    assert np.array_equal(detector.predict(X), (scores >= detector.threshold_).astype(int))
    embeddings = detector.embed(X)
    assert embeddings.shape == (len(X), config.emb_dim)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
def test_save_load_round_trip_is_bit_identical(fitted, tmp_path):
    detector, config, _ = fitted
    X = prepare_pu_data(config).test_images
    detector.save(tmp_path / "model.pt")
    for loaded in (AngularDINO.load(tmp_path / "model.pt"), load_detector(tmp_path / "model.pt")):
        assert isinstance(loaded, AngularDINO)
        assert np.array_equal(loaded.decision_function(X), detector.decision_function(X))
        assert loaded.threshold_ == detector.threshold_ and loaded.history_ == detector.history_
        assert loaded.normal_prototypes_ == detector.normal_prototypes_


@pytest.mark.slow
def test_colour_input_to_a_grayscale_model_and_other_sizes_are_converted(fitted):
    detector, config, _ = fitted
    X = prepare_pu_data(config).test_images[:5]
    assert np.array_equal(detector.decision_function(X.expand(-1, 3, -1, -1)), detector.decision_function(X))
    assert detector.decision_function(torch.zeros(2, 1, 32, 32, dtype=torch.uint8)).shape == (2,)


def test_default_image_size_and_augmentation_follow_the_input():
    def parts(images, positive=()):
        is_positive = torch.zeros(len(images), dtype=torch.bool)
        is_positive[list(positive)] = True
        return hold_out_validation(images, is_positive, 0.25, seed=0)

    detector = AngularDINO(epochs=1)
    config = detector._config_for(parts(torch.zeros(4, 3, 20, 24, dtype=torch.uint8)))
    assert config.image_size == 24 and config.augmentation == "natural" and config.local_crop_size == 10
    assert AngularDINO(image_size=16)._config_for(parts(torch.zeros(4, 1, 8, 8, dtype=torch.uint8))).image_size == 16
    # grayscale: strokes on a dark ground (>= 78 % of the unlabeled pixels dark) get `digits`, else `clothing`
    dark_ground = torch.zeros(8, 1, 10, 10, dtype=torch.uint8)
    dark_ground[:, :, 4:6] = 255  # 20 % of the pixels bright
    assert detector._config_for(parts(dark_ground)).augmentation == "digits"
    half_bright = dark_ground.clone()
    half_bright[:4] = 128  # the labeled anomalies' pixels do not count, the unlabeled ones' do
    assert detector._config_for(parts(half_bright, positive=range(4))).augmentation == "digits"
    assert detector._config_for(parts(half_bright, positive=range(4, 8))).augmentation == "clothing"
    assert AngularDINO(augmentation="natural")._config_for(parts(dark_ground)).augmentation == "natural"


def test_bad_use_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="AngularDINO has no parameter `epoch`; did you mean `epochs`"):
        AngularDINO(epoch=3)
    with pytest.raises(UserError, match="arch: unknown backbone 'resnet19'"):
        AngularDINO(arch="resnet19").fit(np.zeros((4, 8, 8)), [0, 1, 0, 0])  # checked by fit, as scikit-learn's rule
    with pytest.raises(UserError, match="not fitted yet"):
        AngularDINO().decision_function(np.zeros((2, 8, 8)))
    with pytest.raises(UserError, match="needs unlabeled images"):
        AngularDINO().fit(np.zeros((4, 8, 8)), [1, 1, 1, 1])
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(UserError, match="not a readable AngularDINO file"):
        AngularDINO.load(tmp_path / "junk.pt")


@pytest.mark.slow
def test_the_precision_of_training_is_saved_and_an_older_file_without_it_reads_as_fp32(fitted, tmp_path):
    detector, _, result = fitted
    assert detector.precision_ == result["precision"] == "fp32"  # the tests pin fp32
    detector.save(tmp_path / "model.pt")
    content = torch.load(tmp_path / "model.pt", weights_only=True)
    assert content["state"]["precision"] == "fp32"
    del content["state"]["precision"]  # as written before the precision was stored
    torch.save(content, tmp_path / "old.pt")
    assert load_detector(tmp_path / "old.pt").precision_ == "fp32"
