"""The look shared by every plot: colour-blind-safe colours, one colour per test kind, figure and PNG helpers.

Figures are `matplotlib.figure.Figure` objects drawn on their own Agg canvas, so making a report never
selects a pyplot backend or touches the figures of a user who imports matplotlib too.
"""
from __future__ import annotations

import io
from itertools import cycle, islice

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from angular_dino.data.pu_split import NORMAL, SEEN, UNSEEN

DPI = 110

# Okabe & Ito's palette (safe for the common colour-vision deficiencies); the same colour means the
# same kind in every plot, and line styles / markers tell the kinds apart in grayscale as well.
BLACK, BLUE, VERMILLION, PURPLE, ORANGE, GREEN, SKY, YELLOW = (
    "#000000", "#0072B2", "#D55E00", "#CC79A7", "#E69F00", "#009E73", "#56B4E9", "#F0E442")
KIND_NAMES = {NORMAL: "normal", SEEN: "seen anomaly", UNSEEN: "unseen anomaly"}
KIND_COLOURS = {NORMAL: BLUE, SEEN: VERMILLION, UNSEEN: PURPLE}
KIND_LINESTYLES = {NORMAL: "-", SEEN: "--", UNSEEN: "-."}
KIND_MARKERS = {NORMAL: "o", SEEN: "^", UNSEEN: "s"}
PROTOTYPE_COLOURS = {"normal": BLUE, "anomaly": VERMILLION}
# For many series (curves, classes): Okabe & Ito, then Paul Tol's muted colours, all colour-blind safe.
SERIES_COLOURS = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, "#882255", "#999933", "#332288", "#44AA99", "#DDCC77")
# Classes of seen anomalies: the same set without the colours that mean normal, seen and unseen elsewhere.
CLASS_COLOURS = tuple(c for c in SERIES_COLOURS if c not in KIND_COLOURS.values())


def cycled(colours: tuple[str, ...], count: int) -> list[str]:
    """`count` colours from `colours`, repeating them when there are more series than colours."""
    return list(islice(cycle(colours), count))


def new_figure(width: float, height: float) -> Figure:
    """An empty figure with constrained layout (labels never overlap) on its own Agg canvas."""
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Figure, run_title: str) -> bytes:
    """The figure as PNG bytes, with the run's title on top so a PNG says which run it belongs to."""
    figure.suptitle(run_title, fontsize=9, color="#444444")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
