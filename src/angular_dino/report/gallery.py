"""The training images nearest to each identified prototype: one row per prototype, normal rows first.

The images are tiled into one mosaic array and drawn with a single `imshow`, which stays fast for
hundreds of images (one matplotlib Axes per image would take seconds).
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from angular_dino.report.style import PROTOTYPE_COLOURS, new_figure

GAP = 2  # pixels of white between cells
CELL_INCHES = 0.75


def gallery_rows(gallery: dict[int, np.ndarray], normal_prototypes: tuple[int, ...],
                 anomaly_prototypes: tuple[int, ...]) -> list[tuple[str, int, np.ndarray]]:
    """(group, prototype id, images) for every identified prototype that has images, normal ones first."""
    return [(group, prototype, gallery[prototype])
            for group, ids in (("normal", normal_prototypes), ("anomaly", anomaly_prototypes))
            for prototype in ids if prototype in gallery and len(gallery[prototype])]


def tile(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of uint8 images (k, C, H, W) as one H×W×3 mosaic on white; short rows are padded with white."""
    height = max(images.shape[2] for images in rows) + GAP
    width = max(images.shape[3] for images in rows) + GAP
    columns = max(len(images) for images in rows)
    mosaic = np.full((len(rows) * height + GAP, columns * width + GAP, 3), 255, dtype=np.uint8)
    for r, images in enumerate(rows):
        for c, image in enumerate(images):
            top, left = GAP + r * height, GAP + c * width
            mosaic[top:top + image.shape[1], left:left + image.shape[2]] = image.transpose(1, 2, 0)  # 1 or 3 channels
    return mosaic


def prototype_gallery(gallery: dict[int, np.ndarray] | None, normal_prototypes: tuple[int, ...],
                      anomaly_prototypes: tuple[int, ...]) -> Figure | None:
    """One labelled row per normal / anomaly prototype; None when there are no images (e.g. baselines)."""
    rows = gallery_rows(gallery or {}, normal_prototypes, anomaly_prototypes)
    if not rows:
        return None
    mosaic = tile([images for _, _, images in rows])
    row_height = mosaic.shape[0] / len(rows)
    columns = max(len(images) for _, _, images in rows)
    # The figure takes the mosaic's proportions, so the image fills its axes and the labels keep their room.
    figure = new_figure(2.2 + CELL_INCHES * columns, 0.9 + CELL_INCHES * len(rows))
    ax = figure.subplots()
    ax.imshow(mosaic, interpolation="nearest", aspect="auto")
    ax.set_yticks([row_height * (i + 0.5) for i in range(len(rows))],
                  [f"{group} · prototype {prototype}" for group, prototype, _ in rows])
    for tick, (group, _, _) in zip(ax.get_yticklabels(), rows):
        tick.set_color(PROTOTYPE_COLOURS[group])
    n_normal = sum(group == "normal" for group, _, _ in rows)
    if 0 < n_normal < len(rows):
        ax.axhline(n_normal * row_height, color="#444444", linewidth=1.5)
    ax.set_xticks([mosaic.shape[1] / columns * (i + 0.5) for i in range(columns)], range(1, columns + 1))
    ax.set(title="Training images nearest to each prototype", xlabel="neighbour rank (1 = nearest)")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return figure
