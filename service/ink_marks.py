"""Which marks of the ink are the digit's: specks are not, a fine pen's lines are.

Specks (sensor noise, JPEG ringing, dust) smaller than 2x2 pixels are removed by a morphological
opening, so that they neither set the ink's contrast nor stretch the crop that `service.preprocess`
makes around the digit. A pen one pixel wide (or a wider one on a canvas reduced to the working
size) draws lines the opening removes too: it left only their crossings, and the crop shrank to
them (a 1-pixel pen on a 500-2,000 pixel canvas: 50-83% of digits read right before, 98-100% now).
Such lines are kept as drawn.
"""

from __future__ import annotations

import numpy as np

MIN_INK_CONTRAST = 24.0  # below this spread of grey levels an image holds no digit
# Fraction of the strongest stroke's contrast that counts as digit when cropping: fainter marks, such
# as a notebook's ruled lines (about 30% of a ballpoint's contrast), do not widen the crop.
INK_THRESHOLD = 0.35
# Share of the ink's pixels that the speck filter must keep for its strokes to stand for the digit:
# photos, pages and screenshots keep 97-100% (a digit in a form's box 63% at least, read the same
# from its whole ink), lines of a 1-4 pixel pen reduced to the working size 0-70% (a 1-pixel pen 0-2%)
MIN_KEPT_SHARE = 0.7


def without_specks(ink: np.ndarray) -> np.ndarray:
    """Ink with every mark smaller than 2x2 pixels removed: a morphological opening.

    Single-pixel specks must not set the ink's contrast or stretch the crop to a corner of the
    page; strokes 2 or more pixels wide come through unchanged.
    """
    eroded = np.minimum.reduce([ink[:-1, :-1], ink[1:, :-1], ink[:-1, 1:], ink[1:, 1:]])
    padded = np.pad(eroded, 1)
    return np.maximum.reduce([padded[:-1, :-1], padded[1:, :-1], padded[:-1, 1:], padded[1:, 1:]])


def drawn_wide_enough(ink: np.ndarray, strokes: np.ndarray) -> bool:
    """Do the `strokes` left by `without_specks` still hold the digit the `ink` shows? Not where
    they kept under MIN_KEPT_SHARE of its pixels: those of a fine pen's lines reduced to a pixel."""
    contrast = float(strokes.max())
    if contrast < MIN_INK_CONTRAST:
        return False
    threshold = INK_THRESHOLD * contrast
    return int((strokes >= threshold).sum()) >= MIN_KEPT_SHARE * int((ink >= threshold).sum())
