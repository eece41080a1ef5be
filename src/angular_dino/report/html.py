"""report.html: one self-contained page (the PNGs are embedded as base64 data URIs, so the file can be
moved, mailed or archived alone) with the run's key numbers and every plot. All text is escaped."""
from __future__ import annotations

import base64
import math
from html import escape
from typing import Any

import numpy as np

from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN
from angular_dino.report.inputs import ReportInputs
from angular_dino.report.style import KIND_NAMES

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.8em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1.5em 0; }
img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
"""


def number(value: Any, digits: int = 4) -> str:
    """A figure for the page; "n/a" for missing, None or non-finite values (never "nan")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.{digits}f}"
    return "n/a"


def _metrics_table(result: dict[str, Any]) -> str:
    subsets = ("all", "seen", "unseen")
    header = "<tr><th></th>" + "".join(f"<th>{name}</th>" for name in subsets) + "</tr>"
    rows = [f"<tr><td>{metric.upper()}</td>"
            + "".join(f"<td>{number((result.get(metric) or {}).get(name))}</td>" for name in subsets) + "</tr>"
            for metric in ("auroc", "auprc")]
    return f"<table>{header}{''.join(rows)}</table>"


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


def report_html(inputs: ReportInputs, plots: dict[str, tuple[str, bytes]]) -> str:
    """The page for `inputs` with `plots` (file name -> (caption, PNG bytes)) in the given order."""
    title = escape(inputs.title)
    facts = "".join(f"<tr><td>{escape(name)}</td><td>{escape(value)}</td></tr>" for name, value in _facts(inputs))
    figures = "".join(
        f'<figure><img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
        f'alt="{escape(caption)}"><figcaption>{escape(caption)} ({escape(name)})</figcaption></figure>\n'
        for name, (caption, png) in plots.items())
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
            f"<h2>Detection on the test split</h2>\n{_metrics_table(inputs.result)}\n"
            f"<table>{facts}</table>\n<h2>Plots</h2>\n{figures}</body>\n</html>\n")
