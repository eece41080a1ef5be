"""Plots and report.html: every file written and readable, optional parts skipped, odd inputs survived."""
import base64
import io
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from angular_dino.data.prepare import prepare_pu_data
from angular_dino.detection.metrics import detection_metrics
from angular_dino.method.teacher import teacher_outputs
from angular_dino.method.trainer import Trainer
from angular_dino.method.views import views_for
from angular_dino.detection.metrics import threshold_metrics
from angular_dino.report import ReportInputs, ScoredImages, write_report
from angular_dino.report.curves import curve_series, margin_start, training_curves
from angular_dino.report.detection import roc_curves, score_histograms
from angular_dino.report.embedding import embedding_map
from angular_dino.report.gallery import prototype_gallery
from angular_dino.report.writer import PLOTS
from angular_dino.runs.resolve import resolve_config

ALL_PLOTS = [name for name, _, _ in PLOTS]
BASIC_PLOTS = ["training_curves.png", "roc_curves.png", "score_histograms.png"]


def synthetic_inputs(n: int = 120, epochs: int = 6, **overrides) -> ReportInputs:
    """A small run's worth of arrays: kinds 0/1/2 in turn, scores that separate them, 12 prototypes of 8-d."""
    rng = np.random.default_rng(0)
    kinds = np.arange(n) % 3
    labels = np.where(kinds == 0, 0, np.where(kinds == 2, 9, 1 + np.arange(n) % 8))
    embeddings = rng.normal(size=(n, 8)) + labels[:, None]
    prototypes = rng.normal(size=(12, 8))
    history = [{"epoch": e, "loss": 3 / e, "loss_dino": 2 / e, "loss_ang": 1 / e, "lr": 1e-3 / e, "lambda": e / epochs,
                "margin": 0.5, "seconds": 1.0, "normal_prototypes": [0, 1], "anomaly_prototypes": [2, 3],
                "val_pu_auroc": 0.5 + e / 20} for e in range(1, epochs + 1)]
    scores, class_names = kinds + rng.normal(size=n), tuple(f"digit {c}" for c in range(10))
    fields = dict(
        title="angular_dino · digits · normal 0 · unseen 9 · seed 0",
        result={"auroc": {"all": 0.91234, "seen": 0.95678, "unseen": 0.85}, "auprc": {"all": 0.8, "seen": 0.7,
                "unseen": 0.6}, "train_seconds": 12.34, "wall_seconds": 20.0, "threshold_rule": "val_f1",
                "at_threshold": threshold_metrics(scores, kinds, 0.75, labels, class_names)},
        history=history, test_scores=scores, test_kind=kinds, test_labels=labels,
        class_names=class_names, threshold=0.75, settings=(("method", "angular_dino"), ("lr", "0.002")),
        false_positives=ScoredImages(rng.integers(0, 256, (3, 1, 8, 8), dtype=np.uint8), [2.5, 1.9, 0.8],
                                     ("digit 0 · normal",) * 3),
        false_negatives=ScoredImages(np.zeros((0, 1, 8, 8), np.uint8), [], ()),
        label_next=ScoredImages(rng.integers(0, 256, (2, 3, 8, 8), dtype=np.uint8), [3.0, 2.0], ("index 4", "<x>.png")),
        test_embeddings=embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True),
        prototype_vectors=prototypes / np.linalg.norm(prototypes, axis=1, keepdims=True),
        normal_prototypes=(0, 1), anomaly_prototypes=(2, 3),
        gallery={p: rng.integers(0, 256, (3, 1, 8, 8), dtype=np.uint8) for p in range(4)})
    return ReportInputs(**{**fields, **overrides})


def assert_valid_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000, path
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
        image.verify()
    assert 200 <= width <= 4000 and 200 <= height <= 4000, (path.name, width, height)


def plot_names(tmp_path: Path) -> list[str]:
    return sorted(path.name for path in (tmp_path / "plots").glob("*.png"))


class TagBalance(HTMLParser):
    """Fails on a closing tag that does not match the open one; `open` must end empty."""
    VOID = {"meta", "img", "br", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (tag, self.open)
        self.open.pop()


def test_full_report_writes_every_plot_as_a_png_and_the_html(tmp_path):
    written = write_report(tmp_path, synthetic_inputs())
    assert written == [tmp_path / "plots" / name for name in ALL_PLOTS] + [tmp_path / "report.html"]
    for path in written[:-1]:
        assert_valid_png(path)
    assert plot_names(tmp_path) == sorted(ALL_PLOTS)
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temporary files


def test_report_html_embeds_every_plot_and_shows_the_numbers(tmp_path):
    write_report(tmp_path, synthetic_inputs(title="run <b>&</b> \"quoted\""))
    page = (tmp_path / "report.html").read_text()
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)  # the plots, not thumbnails
    assert [base64.b64decode(data) for data in embedded] == [(tmp_path / "plots" / n).read_bytes() for n in ALL_PLOTS]
    for name in ALL_PLOTS:
        assert f"plots/{name}" in page
    for number in ("0.9123", "0.9568", "0.8500", "0.8000", "0.7000", "0.6000", "0.750000", "12.3 s",
                   "40 normal, 40 seen anomaly, 40 unseen anomaly"):
        assert number in page, number
    assert "<td>normal prototypes</td><td>0, 1</td>" in page and "<td>anomaly prototypes</td><td>2, 3</td>" in page
    assert "<b>" not in page and "run &lt;b&gt;&amp;&lt;/b&gt; &quot;quoted&quot;" in page
    assert page.startswith("<!DOCTYPE html>")
    checker = TagBalance()
    checker.feed(page)
    checker.close()
    assert checker.open == []


@pytest.mark.parametrize("case, overrides, expected", [
    ("baseline without embeddings or prototypes",
     dict(test_embeddings=None, prototype_vectors=None, normal_prototypes=(), anomaly_prototypes=(), gallery=None),
     BASIC_PLOTS),
    ("folder data without classes", dict(test_labels=None, class_names=None), ALL_PLOTS),
    ("embeddings without prototype vectors", dict(prototype_vectors=None), ALL_PLOTS),
    ("a single epoch", dict(epochs=1), [p for p in ALL_PLOTS if p != "training_curves.png"]),
    ("no history at all", dict(history=[]), [p for p in ALL_PLOTS if p != "training_curves.png"]),
    ("gallery with no identified prototypes", dict(normal_prototypes=(), anomaly_prototypes=()),
     [p for p in ALL_PLOTS if p != "prototype_gallery.png"]),
])
def test_plots_without_their_inputs_are_skipped_cleanly(tmp_path, case, overrides, expected):
    written = write_report(tmp_path, synthetic_inputs(**overrides))
    assert plot_names(tmp_path) == sorted(expected), case
    for path in written[:-1]:
        assert_valid_png(path)
    assert (tmp_path / "report.html").read_text().count('<img src="data:image/png;base64,') == len(expected)


def test_no_unseen_anomalies_leaves_the_unseen_curve_out_and_shows_na(tmp_path):
    inputs = synthetic_inputs()
    seen_only = inputs.test_kind != 2
    write_report(tmp_path, synthetic_inputs(
        test_scores=inputs.test_scores[seen_only], test_kind=inputs.test_kind[seen_only],
        test_labels=inputs.test_labels[seen_only], test_embeddings=inputs.test_embeddings[seen_only],
        result={"auroc": {"all": 0.9, "seen": 0.9, "unseen": None}, "auprc": {"all": 0.8, "seen": 0.8, "unseen": None}}))
    assert plot_names(tmp_path) == sorted(ALL_PLOTS)
    page = (tmp_path / "report.html").read_text()
    assert "<td>n/a</td>" in page and "0 unseen anomaly" in page


def test_a_skipped_plot_left_by_an_earlier_report_is_removed(tmp_path):
    write_report(tmp_path, synthetic_inputs())
    write_report(tmp_path, synthetic_inputs(test_embeddings=None, gallery=None))
    assert plot_names(tmp_path) == sorted(BASIC_PLOTS)


@pytest.mark.parametrize("case, overrides", [
    ("all scores equal", dict(test_scores=np.zeros(120))),
    ("only normal images", dict(test_kind=np.zeros(120, dtype=int))),
    ("only anomalies", dict(test_kind=np.ones(120, dtype=int))),
    ("non-finite scores and threshold", dict(test_scores=np.where(np.arange(120) % 7 == 0, np.nan, 1.0),
                                             threshold=float("inf"))),
    ("all scores NaN", dict(test_scores=np.full(120, np.nan), threshold=float("nan"))),
    ("identical embeddings", dict(test_embeddings=np.tile(np.eye(8)[0], (120, 1)))),
    ("one-dimensional embeddings", dict(test_embeddings=np.ones((120, 1)), prototype_vectors=np.ones((12, 1)))),
    ("class ids beyond the names", dict(class_names=("zero",))),
    ("gallery of mixed sizes and channels", dict(gallery={0: np.zeros((2, 3, 10, 12), np.uint8),
                                                          2: np.full((5, 1, 8, 8), 200, np.uint8),
                                                          7: np.zeros((1, 1, 8, 8), np.uint8)})),
    ("empty result and no threshold", dict(result={}, threshold=None)),
    ("empty test split", dict(n=0)),
])
def test_odd_inputs_do_not_crash_and_never_print_nan(tmp_path, case, overrides):
    written = write_report(tmp_path, synthetic_inputs(**overrides))
    for path in written[:-1]:
        assert_valid_png(path)
    page = (tmp_path / "report.html").read_text()
    assert not re.search(r"\bnan\b|\binf\b", page, re.IGNORECASE), case


def test_only_normal_images_skip_the_roc_curves_but_keep_the_histograms(tmp_path):
    write_report(tmp_path, synthetic_inputs(test_kind=np.zeros(120, dtype=int)))
    names = plot_names(tmp_path)
    assert "roc_curves.png" not in names and "score_histograms.png" in names


def test_inputs_accept_tensors_and_refuse_mismatched_shapes():
    inputs = synthetic_inputs(test_scores=torch.zeros(120), test_kind=torch.zeros(120, dtype=torch.long))
    assert isinstance(inputs.test_scores, np.ndarray) and isinstance(inputs.test_kind, np.ndarray)
    with pytest.raises(ValueError, match="test_labels must have shape"):
        synthetic_inputs(test_labels=np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="prototype ids must lie in 0..11"):
        synthetic_inputs(anomaly_prototypes=(12,))
    with pytest.raises(ValueError, match="test_kind values"):
        synthetic_inputs(test_kind=np.full(120, 3))
    with pytest.raises(ValueError, match="gallery\\[0\\] must be uint8"):
        synthetic_inputs(gallery={0: np.zeros((2, 8, 8), np.uint8)})


def test_training_curves_take_only_the_numbers_the_history_holds():
    history = [{"epoch": 1, "loss": 1.0, "val_pu_auroc": None, "normal_prototypes": [1], "flag": True,
                "diagnostic_test_auroc": {"all": 0.7, "seen": None}},
               {"epoch": 2, "loss": 0.5, "val_pu_auroc": 0.8, "normal_prototypes": [1], "flag": False,
                "diagnostic_test_auroc": {"all": 0.8, "seen": None}, "val_loss": 0.6}]
    series = curve_series(history)
    assert set(series) == {"loss", "val_pu_auroc", "diagnostic_test_auroc.all", "val_loss"}
    assert np.isnan(series["val_pu_auroc"][0]) and np.isnan(series["val_loss"][0])
    figure = training_curves(history)
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible()]
    assert titles == ["Losses", "Validation part (PU labels, training data)",
                      "Test diagnostics (test labels, never used for choices)"]
    assert sorted(line.get_label() for line in figure.axes[0].lines) == ["total loss", "val_loss"]
    validation = {line.get_label(): line for line in figure.axes[1].lines}
    assert list(validation) == ["val_pu_auroc"]  # validation figures apart from the test diagnostics
    assert list(validation["val_pu_auroc"].get_xdata()) == [2.0]  # the epoch without a value is left out
    assert validation["val_pu_auroc"].get_marker() == "o"  # so a lone value still shows
    assert [line.get_label() for line in figure.axes[2].lines] == ["diagnostic_test_auroc.all"]


def test_the_margin_start_is_marked_and_explained_on_the_loss_panel():
    history = [{"epoch": e, "loss": 1.0 + (e >= 3), "margin": 0.5 if e >= 3 else 0.0} for e in range(1, 6)]
    assert margin_start(history) == 3.0
    losses = training_curves(history).axes[0]
    marker = [line for line in losses.lines if line.get_label().startswith("margins start")]
    assert len(marker) == 1 and list(marker[0].get_xdata()) == [3.0, 3.0]
    assert "L_ANG jumps" in " ".join(text.get_text() for text in losses.get_legend().get_texts())
    # a margin from the first epoch on, or none at all, is no change to mark
    assert margin_start([{"epoch": e, "margin": 0.5} for e in (1, 2)]) is None
    assert margin_start([{"epoch": e, "margin": 0.0} for e in (1, 2)]) is None
    assert margin_start([{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.9}]) is None


PYPLOT_CHECK = """
import sys
from pathlib import Path
import matplotlib
sys.path.insert(0, "tests")
from test_report import synthetic_inputs
from angular_dino.report import write_report
unresolved = dict.__getitem__(matplotlib.rcParams, "backend")  # reading it the public way imports pyplot
write_report(Path(sys.argv[1]), synthetic_inputs())
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
assert dict.__getitem__(matplotlib.rcParams, "backend") == unresolved, "backend changed"
matplotlib.use("svg")
import matplotlib.pyplot as plt
write_report(Path(sys.argv[1]), synthetic_inputs())
assert matplotlib.get_backend() == "svg" and plt.get_fignums() == [], "the user's pyplot state changed"
"""


@pytest.mark.slow
def test_reports_leave_pyplot_and_the_users_backend_alone(tmp_path):
    done = subprocess.run([sys.executable, "-c", PYPLOT_CHECK, str(tmp_path)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_report_from_a_real_digits_training_run(tmp_path, digits_settings):
    """Everything from a short real run: teacher embeddings, prototype vectors, scores and nearest images."""
    config = resolve_config({**digits_settings, "epochs": 3})[0]
    data = prepare_pu_data(config)
    trainer = Trainer(config, data.train_images, data.train_is_positive, views_for(config, *data.normalisation()),
                      torch.device("cpu"))
    history = [{"epoch": epoch + 1, **trainer.train_epoch()} for epoch in range(config.epochs)]
    settings = trainer.views.settings
    embeddings, _ = teacher_outputs(trainer.teacher, data.test_images, settings.mean, settings.std, "fp32")
    with torch.no_grad():
        vectors = trainer.teacher.prototypes.unit_weight()
    scores = trainer.scores(data.test_images)
    train_cosines = trainer.cosines(data.train_images)
    identified = trainer.identified.normal + trainer.identified.anomaly
    nearest = train_cosines[:, list(identified)].topk(8, dim=0).indices.T
    inputs = ReportInputs(
        title="digits · real run", result=detection_metrics(scores, data.test_kind), history=history,
        test_scores=scores.numpy(),
        test_kind=data.test_kind.numpy(), test_labels=data.test_labels.numpy(), class_names=data.class_names,
        threshold=0.0, test_embeddings=embeddings.numpy(), prototype_vectors=vectors.numpy(),
        normal_prototypes=trainer.identified.normal, anomaly_prototypes=trainer.identified.anomaly,
        gallery={p: data.train_images[rows].numpy() for p, rows in zip(identified, nearest)})
    written = write_report(tmp_path, inputs)
    assert [path.name for path in written] == ALL_PLOTS + ["report.html"]
    for path in written[:-1]:
        assert_valid_png(path)
    assert f"<td>{inputs.result['auroc']['all']:.4f}</td>" in (tmp_path / "report.html").read_text()


def test_roc_legend_shows_the_same_auroc_as_the_metrics():
    inputs = synthetic_inputs()
    expected = detection_metrics(torch.from_numpy(inputs.test_scores), torch.from_numpy(inputs.test_kind))["auroc"]
    legend = [text.get_text() for text in roc_curves(inputs.test_scores, inputs.test_kind).axes[0].get_legend().get_texts()]
    assert legend[0] == "chance (AUROC 0.5)"
    for text, subset in zip(legend[1:], ("all", "seen", "unseen")):
        assert text.startswith(f"{subset} (AUROC {expected[subset]:.3f},"), text


def test_embedding_map_colours_by_class_or_else_by_kind_and_marks_the_prototypes():
    inputs = synthetic_inputs()
    by_class = embedding_map(inputs.test_embeddings, inputs.test_kind, inputs.test_labels, inputs.class_names,
                             inputs.prototype_vectors, (0, 1), (2, 3, 4))
    labels = [text.get_text() for text in by_class.axes[0].get_legend().get_texts()]
    assert labels[0] == "digit 0 (normal)" and labels[-4] == "digit 9 (unseen anomaly)"
    assert labels[-3:] == ["other prototypes (7)", "normal prototypes (2)", "anomaly prototypes (3)"]
    by_kind = embedding_map(inputs.test_embeddings, inputs.test_kind, None, None)
    assert [text.get_text() for text in by_kind.axes[0].get_legend().get_texts()] == [
        "normal", "seen anomaly", "unseen anomaly"]


def test_gallery_rows_are_the_identified_prototypes_normal_first_and_labelled():
    images = {p: np.full((2, 1, 6, 6), 10 * p, np.uint8) for p in (1, 4, 5, 9)}
    figure = prototype_gallery(images, normal_prototypes=(5, 1, 3), anomaly_prototypes=(4,))
    labels = [tick.get_text() for tick in figure.axes[0].get_yticklabels()]
    assert labels == ["normal · prototype 5", "normal · prototype 1", "anomaly · prototype 4"]  # 3 has no images, 9 is not identified


def test_a_threshold_far_off_the_scores_is_named_not_drawn():
    scores, kinds = np.linspace(0, 1, 60), np.arange(60) % 3

    def legend_texts(threshold):
        return [text.get_text() for text in score_histograms(scores, kinds, threshold).axes[0].get_legend().get_texts()]

    assert "threshold 0.5" in legend_texts(0.5)
    assert "threshold 1e+06 (off the scale)" in legend_texts(1e6)
    assert not any("threshold" in text for text in legend_texts(float("nan")))


def thumbnails(page: str) -> list[tuple[np.ndarray, str]]:
    """(pixels, caption text) of every gallery thumbnail on the page, in order."""
    found = re.findall(r'<img class="thumb[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"[^>]*>'
                       r"<figcaption>(.*?)</figcaption>", page)
    decoded = []
    for data, caption in found:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            decoded.append((np.asarray(image), caption))
    return decoded


def test_report_shows_the_figures_at_the_threshold_the_settings_and_the_galleries(tmp_path):
    inputs = synthetic_inputs()
    write_report(tmp_path, inputs)
    page = (tmp_path / "report.html").read_text()
    at = inputs.result["at_threshold"]
    c = at["confusion"]
    assert c["tp"] + c["fp"] + c["fn"] + c["tn"] == 120 and c["fp"] and c["fn"]
    for text in ("<h2>At the threshold</h2>", "<code>val_f1</code>",
                 f"<td>{at['precision']:.4f}</td><td>{at['recall']:.4f}</td><td>{at['f1']:.4f}</td>",
                 f"<td>normal</td><td>{c['fp']} false positives</td><td>{c['tn']} true negatives</td>",
                 f"<td>anomaly</td><td>{c['tp']} true positives</td><td>{c['fn']} false negatives</td>",
                 "<td>digit 9</td><td>unseen</td><td>40</td>", "<td>method</td><td>angular_dino</td>",
                 "<td>lr</td><td>0.002</td>", "no baseline row",
                 "<h2>Worst false positives</h2>", "<h2>Worst false negatives</h2>", "<h2>What to label next</h2>",
                 "None: every anomalous test image scores at or above the threshold."):
        assert text in page, text
    unseen = at["flagged_by_kind"]["unseen"]
    assert f"<td>unseen</td><td>40</td><td>{unseen['flagged']}</td><td>{100 * unseen['share']:.1f} %</td>" in page
    shown = thumbnails(page)
    assert [caption for _, caption in shown] == [
        "#1 · 2.5000<br>digit 0 · normal", "#2 · 1.9000<br>digit 0 · normal", "#3 · 0.8000<br>digit 0 · normal",
        "#1 · 3.0000<br>index 4", "#2 · 2.0000<br>&lt;x&gt;.png"]
    np.testing.assert_array_equal(shown[0][0], inputs.false_positives.images[0, 0])  # gray stays gray
    np.testing.assert_array_equal(shown[4][0], inputs.label_next.images[1].transpose(1, 2, 0))  # colour as HWC


def test_a_report_without_threshold_or_galleries_says_so_and_leaves_them_out(tmp_path):
    write_report(tmp_path, synthetic_inputs(result={}, threshold=None, false_positives=None, false_negatives=None,
                                            label_next=None, settings=()))
    page = (tmp_path / "report.html").read_text()
    assert "no finite threshold" in page
    assert "Worst false" not in page and "What to label next" not in page and "<h2>Settings</h2>" not in page
    assert thumbnails(page) == []


def test_gallery_inputs_must_agree():
    with pytest.raises(ValueError, match="needs 2 scores and 2 notes"):
        ScoredImages(np.zeros((2, 1, 4, 4), np.uint8), [1.0], ("a", "b"))
    with pytest.raises(ValueError, match="uint8"):
        ScoredImages(np.zeros((1, 1, 4, 4)), [1.0], ("a",))


def test_a_run_scored_on_the_development_set_says_so_in_its_heading(tmp_path):
    """A tuning run (`evaluate_on: development`) never reads the test split; its page must not claim it did."""
    inputs = synthetic_inputs()
    write_report(tmp_path / "dev", synthetic_inputs(result={**inputs.result, "evaluated_on": "development"}))
    write_report(tmp_path / "test", inputs)
    assert "<h2>Detection on the development set" in (tmp_path / "dev" / "report.html").read_text()
    assert "<h2>Detection on the test split</h2>" in (tmp_path / "test" / "report.html").read_text()
