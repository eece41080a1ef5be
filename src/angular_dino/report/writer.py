"""Render every plot a run's inputs allow, write them to plots/ and report.html, atomically."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from matplotlib.figure import Figure

from angular_dino.report.curves import training_curves
from angular_dino.report.detection import roc_curves, score_histograms
from angular_dino.report.embedding import embedding_map
from angular_dino.report.gallery import prototype_gallery
from angular_dino.report.html import report_html
from angular_dino.report.inputs import ReportInputs
from angular_dino.report.style import png_bytes
from angular_dino.storage import save_bytes, save_text

# (file name, caption, plot): each plot returns None when its inputs are missing, and is then skipped.
PLOTS: tuple[tuple[str, str, Callable[[ReportInputs], Figure | None]], ...] = (
    ("training_curves.png", "Training curves: losses, schedules and validation figures per epoch. Where a dotted "
     "line marks the start of the angular margins (margin_start_fraction), the loss jumps by design: the margins "
     "make the targets harder at once; it is not a divergence",
     lambda i: training_curves(i.history)),
    ("roc_curves.png", "ROC curves for all, seen and unseen anomalies",
     lambda i: roc_curves(i.test_scores, i.test_kind)),
    ("score_histograms.png", "Anomaly scores of normal, seen and unseen test images, with the threshold",
     lambda i: score_histograms(i.test_scores, i.test_kind, i.threshold)),
    ("embedding_map.png", "Test embeddings (PCA) with the normal and anomaly prototypes",
     lambda i: None if i.test_embeddings is None else embedding_map(
         i.test_embeddings, i.test_kind, i.test_labels, i.class_names, i.prototype_vectors,
         i.normal_prototypes, i.anomaly_prototypes)),
    ("prototype_gallery.png", "Training images nearest to each normal and anomaly prototype",
     lambda i: prototype_gallery(i.gallery, i.normal_prototypes, i.anomaly_prototypes)),
)


def render_plots(inputs: ReportInputs) -> dict[str, tuple[str, bytes]]:
    """file name -> (caption, PNG bytes) for every plot whose inputs are present."""
    rendered = {}
    for name, caption, plot in PLOTS:
        figure = plot(inputs)
        if figure is not None:
            rendered[name] = (caption, png_bytes(figure, inputs.title))
    return rendered


def write_report(out_dir: Path, inputs: ReportInputs) -> list[Path]:
    """Writes out_dir/plots/*.png and out_dir/report.html; returns the files written.

    Plots whose inputs are None/empty are skipped, and a skipped plot's file left by an earlier report
    in the same directory is removed, so plots/ always matches report.html.
    """
    plots_dir = Path(out_dir) / "plots"
    rendered = render_plots(inputs)
    written = []
    for name, _, _ in PLOTS:
        path = plots_dir / name
        if name in rendered:
            save_bytes(rendered[name][1], path)
            written.append(path)
        else:
            path.unlink(missing_ok=True)
    html_path = Path(out_dir) / "report.html"
    save_text(report_html(inputs, {f"plots/{name}": entry for name, entry in rendered.items()}), html_path)
    return [*written, html_path]
