"""A digit drawn with a fine pen on a large canvas gets MNIST's stroke width before it is shrunk.

MNIST's strokes are about a tenth of the digit's size wide (measured on 1,000 test digits scaled
up 10x: median 12.5%, 99.5% of them over 8.7%). A digit drawn 300-700 pixels tall with a 1-4
pixel pen (a paint program's pencil, a fine brush on a tablet) shrinks to 20 pixels as faint
hairlines the model has never seen. Strokes much thinner than MNIST's are grown to its width
first, where they are lines: of 2,000 MNIST test digits traced with such a pen, 69.65% were read
right before, 81.05% with this growth, 98.70% once `service.ink_marks` kept lines a pixel wide
(`python -m loadtest.image_accuracy`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# Strokes narrower than this share of the digit's size are a fine pen's (MNIST's thinnest writers,
# cropped tight, measure 3.5-6%) ...
THIN_SHARE = 0.03
TARGET_SHARE = 0.1  # ... and are grown to this share (MNIST's narrowest strokes)
# Only drawn lines: a line runs through nearly every row and column of its box (a hairline broken
# up by the image's reduction still through most), specks scattered on an empty page through few;
# grown, such specks read as a digit (12 of 300 blank-ish pages).
LINE_COVER = 0.6


def stroke_width(digit: np.ndarray) -> float:
    """Mean stroke width, in pixels, of the ink mask `digit`: its area over half its outline."""
    outline = int((digit & ~ndimage.binary_erosion(digit)).sum())
    return 2 * int(digit.sum()) / outline if outline else 0.0


def _spread_out(digit: np.ndarray) -> bool:
    """Does the ink leave more than a share 1 - LINE_COVER of its box's rows or columns empty?"""
    return min(float(digit.any(axis=1).mean()), float(digit.any(axis=0).mean())) < LINE_COVER


def with_mnist_stroke_width(cropped: np.ndarray, digit: np.ndarray) -> np.ndarray:
    """The cropped ink (`digit` its mask) with fine strokes grown to MNIST's width, on a margin
    wide enough that the strokes at the edge of the crop grow outwards as well; else unchanged."""
    size = max(digit.shape)
    width = stroke_width(digit)
    growth = round(TARGET_SHARE * size - width)
    if width >= THIN_SHARE * size or growth < 2 or _spread_out(digit):
        return cropped
    padded = np.pad(cropped, growth // 2 + 1)
    return ndimage.maximum_filter(padded, size=growth + 1)
