"""Training curves: every per-epoch figure the history holds, grouped into panels of similar scale."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from angular_dino.report.style import SERIES_COLOURS, cycled, new_figure

NOT_CURVES = {"epoch", "seconds"}  # the x axis, and wall time (in the report's numbers instead)
PRETTY = {"lambda": "λ (weight of L_ANG)", "lr": "learning rate", "loss": "total loss",
          "loss_dino": "L_DINO", "loss_ang": "L_ANG"}


def _is_loss(key: str) -> bool:
    return key == "loss" or key.startswith("loss_") or key.endswith("_loss")


def _is_validation(key: str) -> bool:
    return key.startswith("val_") and not _is_loss(key)


def _is_test_diagnostic(key: str) -> bool:
    return key.startswith("diagnostic_") and not _is_loss(key)


# Panels in order; a key goes to the first panel whose rule accepts it, the last panel takes the rest.
PANELS: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("Losses", "loss", _is_loss),
    ("Loss weight and angular margin", "value", lambda key: key in ("lambda", "margin")),
    ("Learning rate", "learning rate", lambda key: key == "lr"),
    ("Validation part (PU labels, training data)", "value", _is_validation),
    ("Test diagnostics (test labels, never used for choices)", "value", _is_test_diagnostic),
    ("Other schedules", "value", lambda key: True),
)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _flatten(record: dict[str, Any]) -> dict[str, float]:
    """The numeric values of one record; a dict value such as {"all": .., "seen": ..} becomes `key.all`, ..."""
    flat: dict[str, float] = {}
    for key, value in record.items():
        parts = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, item in parts:
            if key not in NOT_CURVES and _is_number(item):
                flat[key if sub is None else f"{key}.{sub}"] = float(item)
    return flat


def curve_series(history: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """One float array per numeric key of the history, NaN where an epoch lacks it."""
    flat = [_flatten(record) for record in history]
    keys = dict.fromkeys(key for record in flat for key in record)
    series = {key: np.array([record.get(key, math.nan) for record in flat]) for key in keys}
    return {key: values for key, values in series.items() if np.isfinite(values).any()}


def margin_start(history: list[dict[str, Any]]) -> float | None:
    """The first epoch whose record shows a margin after records without one, or None (no such change)."""
    before = False
    for i, record in enumerate(history):
        margin = record.get("margin")
        if not _is_number(margin):
            continue
        if margin > 0 and before:
            return float(record.get("epoch", i + 1))
        before = before or margin == 0
    return None


MARGIN_LABEL = "margins start (margin_start_fraction):\nthe targets get harder, so L_ANG jumps"


def _mark_margin_start(ax, epoch: float) -> None:
    """Why the loss jumps there: from this epoch the angular margins (METHOD §7) make the student's target
    cosines cos(θ + m) and sharpen the teacher's, a step change of the objective rather than a divergence.
    The explanation goes into the legend, below the panel: the jump leaves no free corner inside it."""
    ax.axvline(epoch, color="#666666", linestyle=":", linewidth=1.4, label=MARGIN_LABEL)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False)


def training_curves(history: list[dict[str, Any]]) -> Figure | None:
    """Losses, schedules and validation figures against epoch; None when there are fewer than two epochs."""
    series = curve_series(history)
    if len(history) < 2 or not series:
        return None
    epochs = np.array([record.get("epoch", i + 1) for i, record in enumerate(history)], dtype=float)
    panels: dict[str, tuple[str, list[str]]] = {}
    for key in series:
        title, ylabel, _ = next(panel for panel in PANELS if panel[2](key))
        panels.setdefault(title, (ylabel, []))[1].append(key)
    ordered = [(title, *panels[title]) for title, _, _ in PANELS if title in panels]
    start = margin_start(history)
    columns = 1 if len(ordered) == 1 else 2
    rows = math.ceil(len(ordered) / columns)
    figure = new_figure(5.2 * columns, 3.2 * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, (title, ylabel, keys) in zip(axes, ordered):
        for key, colour in zip(keys, cycled(SERIES_COLOURS, len(keys))):
            known = np.isfinite(series[key])  # join the epochs that have a value; mark them when some lack one
            ax.plot(epochs[known], series[key][known], color=colour, label=PRETTY.get(key, key), linewidth=1.6,
                    marker=None if known.all() else "o", markersize=3)
        ax.set(title=title, xlabel="epoch", ylabel=ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if title == "Losses" and start is not None:
            _mark_margin_start(ax, start)
        else:
            ax.legend(fontsize=8)
    for ax in axes[len(ordered):]:
        ax.set_visible(False)
    return figure
