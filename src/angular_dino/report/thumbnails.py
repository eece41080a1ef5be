"""Image galleries as HTML: each image a small embedded PNG with its rank, score and note underneath.

HTML rather than a matplotlib mosaic, so the captions stay sharp and selectable (a file path can be
copied) and a gallery costs no figure layout.
"""
from __future__ import annotations

import base64
import io
from html import escape

import numpy as np
from PIL import Image

from angular_dino.report.inputs import ScoredImages
from angular_dino.report.tables import number

SHOWN_PX = 84  # the width and height a thumbnail is shown at


def png_data_uri(image: np.ndarray) -> str:
    """One uint8 C×H×W image (C = 1 or 3) as a PNG data URI."""
    pixels = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def gallery_html(gallery: ScoredImages, empty: str) -> str:
    """The images in order, or the sentence `empty` when there are none."""
    if len(gallery.images) == 0:
        return f'<p class="note">{escape(empty)}</p>'
    cells = []
    for rank, (image, score, note) in enumerate(zip(gallery.images, gallery.scores, gallery.notes), start=1):
        smooth = " smooth" if image.shape[1] >= SHOWN_PX else ""  # small images are enlarged with sharp pixels
        cells.append(f'<figure class="thumb"><img class="thumb{smooth}" src="{png_data_uri(image)}" '
                     f'alt="{escape(note)}" title="{escape(note)}"><figcaption>#{rank} · {number(score)}<br>'
                     f"{escape(note)}</figcaption></figure>")
    return f'<div class="gallery">{"".join(cells)}</div>'
