"""The report's HTML tables: detection figures, the figures at the threshold, and the settings summary.

They render numbers that train/evaluate computed (result.json's `at_threshold`, from
`detection.metrics.threshold_metrics`); nothing here computes a metric. All text is escaped.
"""
from __future__ import annotations

import math
from html import escape
from typing import Any, Sequence

SETTINGS_PER_ROW = 3


def number(value: Any, digits: int = 4) -> str:
    """A figure for the page; "n/a" for missing, None or non-finite values (never "nan")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.{digits}f}"
    return "n/a"


def share(value: Any) -> str:
    """A fraction as a percentage, "n/a" when unknown."""
    text = number(value if value is None else 100 * value, 1)
    return text if text == "n/a" else f"{text} %"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """A table of escaped text cells; `css` names its class."""
    head = "<tr>" + "".join(f"<th>{escape(cell)}</th>" for cell in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    attribute = f' class="{css}"' if css else ""
    return f"<table{attribute}>{head}{body}</table>"


def detection_table(result: dict[str, Any]) -> str:
    subsets = ("all", "seen", "unseen")
    rows = [[metric.upper(), *(number((result.get(metric) or {}).get(name)) for name in subsets)]
            for metric in ("auroc", "auprc")]
    return table(["", *subsets], rows)


def _share_cells(group: dict[str, Any]) -> list[str]:
    return [str(group["n"]), str(group["flagged"]), share(group["share"])]


def _share_tables(at: dict[str, Any]) -> str:
    """The share flagged per test kind, and per class when the data has classes; empty groups left out."""
    columns = ["images", "flagged", "share flagged"]
    kinds = [[name, *_share_cells(group)] for name, group in at.get("flagged_by_kind", {}).items() if group["n"]]
    classes = [[group["class"], group["kind"], *_share_cells(group)] for group in at.get("flagged_by_class", [])
               if group["n"]]
    return ('<div class="side">' + table(["test kind", *columns], kinds)
            + (table(["class", "test kind", *columns], classes) if classes else "") + "</div>")


def threshold_section(at: dict[str, Any] | None, rule: str | None) -> str:
    """Precision, recall and F1 at the run's threshold, the confusion matrix and the share flagged per group."""
    if not at:
        return "<p>There is no finite threshold, so there are no figures at the threshold.</p>"
    c = at["confusion"]
    rule_text = f" (rule <code>{escape(rule)}</code>, chosen from training data only)" if rule else ""
    return (f"<p>Hard labels: an image is flagged as anomalous when its score is at least the threshold "
            f"{escape(number(at['threshold'], 6))}{rule_text}. Anomalies (seen and unseen) are the positive class.</p>"
            + table(["precision", "recall", "F1"], [[number(at["precision"]), number(at["recall"]), number(at["f1"])]])
            + "<h3>Confusion matrix</h3>"
            + table(["test images", "flagged (score ≥ threshold)", "passed"],
                    [["normal", f"{c['fp']} false positives", f"{c['tn']} true negatives"],
                     ["anomaly", f"{c['tp']} true positives", f"{c['fn']} false negatives"]])
            + "<h3>Share flagged, per test kind and class</h3>"
            "<p>For anomalies this is the recall (the rest are missed); for normal images it is the false-positive "
            "rate.</p>"
            + _share_tables(at))


def settings_table(settings: Sequence[tuple[str, str]]) -> str:
    """The settings summary, a few (key, value) pairs per row."""
    cells = [cell for pair in settings for cell in pair]
    width = 2 * SETTINGS_PER_ROW
    rows = [cells[i:i + width] + [""] * (width - len(cells[i:i + width])) for i in range(0, len(cells), width)]
    return table([], rows, css="settings")
