"""report.html: one self-contained page (the PNGs are embedded as base64 data URIs, so the file can be
moved, mailed or archived alone) with the run's key numbers, its figures at the threshold, the image
galleries and every plot. All text is escaped."""
from __future__ import annotations

import base64
from html import escape

import numpy as np

from angular_dino.config import DEVELOPMENT
from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN
from angular_dino.report.inputs import ReportInputs
from angular_dino.report.style import KIND_NAMES
from angular_dino.report.tables import detection_table, number, settings_table, table, threshold_section
from angular_dino.report.thumbnails import gallery_html

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.8em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
table.settings td:nth-child(odd) { text-align: left; color: #555; }
table.settings td:nth-child(even) { text-align: left; font-family: ui-monospace, monospace; }
figure { margin: 1.5em 0; }
img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
.note { color: #555; }
.side { display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start; }
.gallery { display: flex; flex-wrap: wrap; gap: 10px; margin: 0.5em 0 1.5em; }
figure.thumb { margin: 0; width: 96px; text-align: center; }
img.thumb { width: 84px; height: 84px; object-fit: contain; image-rendering: pixelated; border: 1px solid #ccc; }
img.thumb.smooth { image-rendering: auto; }
figure.thumb figcaption { font-size: 0.75em; overflow-wrap: anywhere; }
"""

BASELINE_NOTE = ("There is no baseline row: a run trains one method. <code>angular-dino bench</code> trains "
                 "methods side by side on identical splits and tabulates them.")
# (heading, what the gallery shows, the sentence for an empty one)
GALLERIES = (
    ("false_positives", "Worst false positives",
     "Normal test images flagged as anomalous, highest score first.",
     "None: no normal test image scores at or above the threshold."),
    ("false_negatives", "Worst false negatives",
     "Anomalous test images the threshold passes as normal, lowest score first.",
     "None: every anomalous test image scores at or above the threshold."),
    ("label_next", "What to label next",
     "The unlabeled training images (U) the model finds most anomalous, highest score first: check these, and "
     "move the anomalies among them into P (or out of U) for the next run. "
     "<code>angular-dino suggest --run DIR --n N</code> lists them as CSV.",
     "No unlabeled training images."),
)


def _facts(inputs: ReportInputs) -> list[tuple[str, str]]:
    """(name, value) rows of the facts table: threshold, test set, timings and prototypes when known."""
    result = inputs.result
    counts = ", ".join(f"{int(np.sum(inputs.test_kind == kind))} {KIND_NAMES[kind]}" for kind in (NORMAL, SEEN, UNSEEN))
    facts = [("threshold", number(inputs.threshold, 6)), ("test images", counts)]
    if "train_seconds" in result:
        facts.append(("training time", f"{number(result['train_seconds'], 1)} s"))
    if "wall_seconds" in result:
        facts.append(("total time", f"{number(result['wall_seconds'], 1)} s"))
    if inputs.history:
        facts.append(("epochs", str(len(inputs.history))))
    for group, ids in (("normal", inputs.normal_prototypes), ("anomaly", inputs.anomaly_prototypes)):
        if ids:
            facts.append((f"{group} prototypes", ", ".join(str(i) for i in ids)))
    return facts


def _galleries(inputs: ReportInputs) -> str:
    """The error galleries and the what-to-label-next gallery that the inputs hold."""
    parts = []
    for field, heading, what, empty in GALLERIES:
        gallery = getattr(inputs, field)
        if gallery is not None:
            parts.append(f"<h2>{heading}</h2>\n<p>{what}</p>\n{gallery_html(gallery, empty)}\n")
    return "".join(parts)


def report_html(inputs: ReportInputs, plots: dict[str, tuple[str, bytes]]) -> str:
    """The page for `inputs` with `plots` (file name -> (caption, PNG bytes)) in the given order."""
    title = escape(inputs.title)
    facts = table([], _facts(inputs))
    settings = (f"<h2>Settings</h2>\n{settings_table(inputs.settings)}\n"
                "<p class=\"note\">The main settings; config.yaml in the run directory holds them all.</p>\n"
                if inputs.settings else "")
    figures = "".join(
        f'<figure><img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
        f'alt="{escape(caption)}"><figcaption>{escape(caption)} ({escape(name)})</figcaption></figure>\n'
        for name, (caption, png) in plots.items())
    at_threshold = threshold_section(inputs.result.get("at_threshold"), inputs.result.get("threshold_rule"))
    evaluated_on = ("the development set (unused train-pool images; the test split was not read)"
                    if inputs.result.get("evaluated_on") == DEVELOPMENT else "the test split")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
            f"<h2>Detection on {evaluated_on}</h2>\n{detection_table(inputs.result)}\n{facts}\n"
            f'<p class="note">{BASELINE_NOTE}</p>\n{settings}'
            f"<h2>At the threshold</h2>\n{at_threshold}\n{_galleries(inputs)}"
            f"<h2>Plots</h2>\n{figures}</body>\n</html>\n")
