"""A photo of a sheet of paper lying on a darker desk: the sheet is the page, the desk is not.

The preparation reads the background's brightness off the image's outer frame. In a phone photo
of a sheet on a desk that frame is the desk, so the image was read as light ink on a dark
background: the sheet itself became the "digit" and the real digit a hole in it: of 2,000 MNIST
test digits so photographed, 11% were read right (`python -m loadtest.image_accuracy`; 99.3% now).

The sheet is found as the largest bright piece of the image that is a filled, roughly upright
quadrilateral (it fills most of its bounding box once its holes, the ink, are filled in) with
ink inside it. A light digit on a dark background never is: its strokes fill a small part of
the image, or, bold and large, leave the rounded gaps of their shape.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

SHEET_MIN_AREA = 0.2  # the sheet covers at least this share of the photo ...
SHEET_MIN_FILL = 0.85  # ... and, holes filled, this share of its bounding box (an ellipse: 79%)
SHEET_MIN_INK = 0.001  # the holes in it (the ink) are at least this share of its area
SHEET_EDGE = 0.03  # trimmed off each side of the sheet's box: its edge and the shadow beside it
SEARCH_SIDE = 128  # pixels across the copy the sheet is looked for on


def sheet_of_paper(grey: np.ndarray, background_level: float) -> tuple[slice, slice] | None:
    """The sheet's box, trimmed, in a grey image whose outer frame is `background_level`; None
    when there is no such sheet (the image is the page itself, or a light digit on a dark one).

    Looked for on a copy at most SEARCH_SIDE pixels across (a sheet is large; 4 ms less per photo
    than at the working size), its box scaled back to the image's pixels."""
    height, width = grey.shape
    small = reduced_copy(grey, SEARCH_SIDE)
    found = _sheet_in(small, background_level)
    if found is None:
        return None
    rows, cols = found
    down, across = height / small.shape[0], width / small.shape[1]
    return (
        slice(round(rows.start * down), round(rows.stop * down)),
        slice(round(cols.start * across), round(cols.stop * across)),
    )


def reduced_copy(grey: np.ndarray, max_side: int) -> np.ndarray:
    """A copy at most `max_side` pixels across, each pixel the mean of those it covers: the page's
    large features (its sheet, its lighting) at a fraction of the cost of the whole image."""
    height, width = grey.shape
    scale = min(1.0, max_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(grey, mode="F").resize(size, Image.Resampling.BOX))


def _sheet_in(grey: np.ndarray, background_level: float) -> tuple[slice, slice] | None:
    bright = grey > (background_level + float(np.percentile(grey, 99))) / 2
    labels, count = ndimage.label(bright)
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    largest = int(sizes.argmax()) + 1
    if sizes[largest - 1] < SHEET_MIN_AREA * grey.size:
        return None
    rows, cols = ndimage.find_objects(labels, max_label=largest)[largest - 1]
    piece = labels[rows, cols] == largest
    filled = ndimage.binary_fill_holes(piece)
    holes = int(filled.sum() - piece.sum())
    if filled.mean() < SHEET_MIN_FILL or holes < SHEET_MIN_INK * filled.sum():
        return None
    trim_y, trim_x = round(SHEET_EDGE * piece.shape[0]), round(SHEET_EDGE * piece.shape[1])
    return slice(rows.start + trim_y, rows.stop - trim_y), slice(cols.start + trim_x, cols.stop - trim_x)
