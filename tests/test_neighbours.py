"""`score: prototypes_knn`: the kNN-to-U term against a plain reference, and a fitted detector that scores, saves,
loads and exports with it."""
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from angular_dino import AngularDINO, load_detector
from angular_dino.detection.threshold import best_f1_threshold
from angular_dino.errors import InputError
from angular_dino.data.prepare import hold_out_validation
from angular_dino.method.neighbours import NeighbourTerm, combined_score, knn_distance, uses_neighbours


def reference_knn(queries: np.ndarray, bank: np.ndarray, k: int, skip: list[int | None]) -> np.ndarray:
    """Minus the mean cosine to the k most similar bank rows, leaving out bank row skip[i] (the query itself)."""
    out = []
    for i, query in enumerate(queries):
        cosines = [float(query @ row) for j, row in enumerate(bank) if j != skip[i]]
        out.append(-np.mean(sorted(cosines, reverse=True)[:k]))
    return np.array(out)


def unit(n: int, d: int, seed: int) -> torch.Tensor:
    return F.normalize(torch.randn(n, d, generator=torch.Generator().manual_seed(seed)), dim=1)


def test_knn_distance_of_new_images_and_of_the_bank_itself_matches_a_plain_loop():
    bank, queries = unit(30, 8, 0), unit(7, 8, 1)
    np.testing.assert_allclose(knn_distance(queries, bank, 5).numpy(),
                               reference_knn(queries.numpy(), bank.numpy(), 5, [None] * 7), atol=1e-6)
    # a bank image is not its own neighbour
    np.testing.assert_allclose(knn_distance(bank, bank, 5).numpy(),
                               reference_knn(bank.numpy(), bank.numpy(), 5, list(range(30))), atol=1e-6)


def test_combined_score_is_the_sum_of_both_standardised_terms():
    scores = combined_score(torch.tensor([1.0, 3.0]), torch.tensor([-0.5, 0.5]), torch.tensor([1.0, 2.0, 0.0, 0.25]))
    np.testing.assert_allclose(scores.numpy(), [0.0 - 2.0, 1.0 + 2.0])


def test_the_bank_is_the_unlabeled_images_below_the_threshold_and_each_term_is_standardised_on_all():
    unlabeled = unit(40, 8, 2)
    prototype_scores = torch.linspace(-1, 3, 40)
    term = NeighbourTerm.fit(unlabeled, prototype_scores, threshold=2.0)
    assert torch.equal(term.bank, unlabeled[prototype_scores < 2.0]) and len(term.bank) == 30
    knn = knn_distance(unlabeled, term.bank, term.k)
    mean_p, std_p, mean_k, std_k = term.scales.tolist()
    assert mean_p == pytest.approx(1.0) and std_p == pytest.approx(prototype_scores.std(unbiased=False).item())
    assert mean_k == pytest.approx(knn.mean().item()) and std_k == pytest.approx(knn.std(unbiased=False).item())
    assert term.score(unlabeled, prototype_scores).mean().item() == pytest.approx(0.0, abs=1e-5)


def test_too_few_unlabeled_images_below_the_threshold_is_a_clear_error():
    with pytest.raises(InputError, match="nearest unlabeled training images scored normal, and the training part "
                                         "holds 5"):
        NeighbourTerm.fit(unit(8, 8, 3), torch.arange(8.0), threshold=5.0)


def test_auto_adds_the_term_with_1_to_99_labeled_anomalies_only():
    assert [uses_neighbours("auto", n) for n in (0, 1, 40, 99, 100, 250)] == [False, True, True, True, False, False]
    assert uses_neighbours("prototypes_knn", 250) and not uses_neighbours("prototypes", 10)


@pytest.fixture(scope="module")
def knn_detector():
    """A tiny digits AngularDINO with `score: prototypes_knn` (fp32, seconds), and 300 digits to score."""
    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)
    y = (digits.target != 0).astype(int)
    unlabeled = np.flatnonzero(digits.target == 0)[:150].tolist() + np.flatnonzero(y)[:8].tolist()
    positive = np.flatnonzero(y)[8:28].tolist()
    X = images[unlabeled + positive]
    pu = np.r_[np.zeros(len(unlabeled), int), np.ones(len(positive), int)]
    detector = AngularDINO(score="prototypes_knn", arch="resnet_tiny", epochs=2, batch_size=16, local_crops_number=0,
                           prototype_num=20, pt_num=3, num_threads=1, precision="fp32", device="cpu").fit(X, pu)
    unused = np.setdiff1d(np.arange(len(images)), unlabeled + positive)[:300]
    return detector, X, pu, images[unused]


def rows_of(embeddings: np.ndarray, bank: np.ndarray) -> list[int | None]:
    """For each embedding, the bank row that is the same image (cosine above 0.9999), or None."""
    return [int(np.argmax(bank @ e)) if (bank @ e).max() > 0.9999 else None for e in embeddings]


def prototype_score(detector: AngularDINO, embeddings: np.ndarray) -> np.ndarray:
    cos = embeddings @ detector.prototype_vectors_.T
    return cos[:, list(detector.anomaly_prototypes_)].mean(1) - cos[:, list(detector.normal_prototypes_)].mean(1)


def test_decision_function_is_the_standardised_sum_of_the_prototype_score_and_knn_to_the_unlabeled(knn_detector):
    detector, X, pu, images = knn_detector
    parts = hold_out_validation(torch.from_numpy(X)[:, None], torch.from_numpy(pu).bool(), 0.1, 0)
    unlabeled = detector.embed(parts.train_images[~parts.train_is_positive])  # the training part's
    u_prototype = prototype_score(detector, unlabeled)
    val_scores = prototype_score(detector, detector.embed(parts.val_images))
    threshold = best_f1_threshold(val_scores, parts.val_is_positive.numpy())  # the prototype score's own
    bank = unlabeled[u_prototype < threshold]
    assert 5 < len(bank) < len(unlabeled)
    np.testing.assert_allclose(detector._neighbours.bank.numpy(), bank, atol=1e-5)
    u_knn = reference_knn(unlabeled, bank, 5, rows_of(unlabeled, bank))

    def expected(embeddings: np.ndarray, skip: list[int | None]) -> np.ndarray:
        knn = reference_knn(embeddings, bank, 5, skip)
        return ((prototype_score(detector, embeddings) - u_prototype.mean()) / u_prototype.std()
                + (knn - u_knn.mean()) / u_knn.std())

    new = detector.embed(images)  # images the detector never saw: every bank image counts
    np.testing.assert_allclose(detector.decision_function(images), expected(new, [None] * len(new)), atol=1e-4)
    trained = detector.embed(X)  # its training images: a bank image is not its own neighbour
    own = rows_of(trained, bank)
    assert sum(i is not None for i in own) == len(bank)
    np.testing.assert_allclose(detector.decision_scores_, expected(trained, own), atol=1e-4)


def test_a_saved_knn_detector_scores_alike_after_loading_and_as_an_exported_scorer(knn_detector, tmp_path):
    detector, _, _, images = knn_detector
    detector.save(tmp_path / "model.pt")
    loaded = load_detector(tmp_path / "model.pt")
    expected = detector.decision_function(images)
    np.testing.assert_array_equal(loaded.decision_function(images), expected)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(detector.scorer()), buffer)
    scripted = torch.jit.load(io.BytesIO(buffer.getvalue()))
    np.testing.assert_allclose(scripted(detector.model_input(images)).numpy(), expected, atol=1e-4)


def test_the_knn_term_changes_the_score(knn_detector):
    detector, _, _, images = knn_detector
    knn_scores = detector.decision_function(images)
    term, detector._neighbours = detector._neighbours, None  # the same model without its kNN term
    try:
        plain = detector.decision_function(images)
    finally:
        detector._neighbours = term
    assert np.corrcoef(plain, knn_scores)[0, 1] < 0.9999


def test_the_default_score_auto_adds_the_term_with_few_labels_and_not_without_labels(knn_detector):
    _, X, pu, _ = knn_detector
    tiny = {"arch": "resnet_tiny", "epochs": 1, "batch_size": 16, "local_crops_number": 0, "prototype_num": 20,
            "pt_num": 3, "num_threads": 1, "precision": "fp32", "device": "cpu"}
    assert AngularDINO().score == "auto"
    with_labels = AngularDINO(**tiny).fit(X, pu)  # 18 labeled anomalies in the training part
    assert with_labels.score_ == "prototypes_knn" and with_labels._neighbours is not None
    without = AngularDINO(**tiny).fit(X[pu == 0])
    assert without.score_ == "prototypes" and without._neighbours is None


def test_auto_with_too_few_normal_looking_unlabeled_images_scores_by_the_prototypes_and_says_so(knn_detector):
    _, X, pu, _ = knn_detector
    tiny = {"arch": "resnet_tiny", "epochs": 1, "batch_size": 8, "local_crops_number": 0, "prototype_num": 20,
            "pt_num": 3, "num_threads": 1, "precision": "fp32", "device": "cpu"}
    few = np.r_[np.flatnonzero(pu == 0)[:6], np.flatnonzero(pu == 1)[:6]]  # at most 5 unlabeled in the training part
    with pytest.warns(UserWarning, match="score: auto: only .* too few for the 5-nearest-neighbour term"):
        detector = AngularDINO(**tiny).fit(X[few], pu[few])
    assert detector.score_ == "prototypes"
    with pytest.raises(InputError, match="score: prototypes_knn compares each image with its 5 nearest"):
        AngularDINO(**tiny, score="prototypes_knn").fit(X[few], pu[few])


@pytest.mark.slow
def test_the_onnx_scorer_of_a_knn_detector_gives_decision_function(knn_detector):
    pytest.importorskip("onnxscript")
    onnxruntime = pytest.importorskip("onnxruntime")
    from angular_dino.runs.export import _onnx

    detector, _, _, images = knn_detector
    inputs = detector.model_input(images)
    session = onnxruntime.InferenceSession(_onnx(detector.scorer(), inputs[:2]), providers=["CPUExecutionProvider"])
    scores = session.run(["scores"], {"images": inputs.numpy()})[0]
    np.testing.assert_allclose(scores, detector.decision_function(images), atol=1e-4)


def test_a_run_stored_before_the_score_key_existed_counts_as_the_prototype_score():
    from angular_dino.config import Config
    from angular_dino.runs.run_dir import setting_differences

    stored = {k: v for k, v in Config().to_dict().items() if k != "score"}  # written by an older version
    for shared_keys_only in (False, True):  # a run directory resumes; a bench cell is reused
        assert setting_differences(stored, Config(score="prototypes"), shared_keys_only=shared_keys_only) == []
        for score in ("auto", "prototypes_knn"):
            assert setting_differences(stored, Config(score=score), shared_keys_only=shared_keys_only) == [
                f"score: 'prototypes' there, '{score}' now"]
