"""Which marks of the ink are the digit's: specks are not, a fine pen's lines are, an app's bars' are not.

Specks (sensor noise, JPEG ringing, dust) smaller than 2x2 pixels are removed by a morphological
opening, so that they neither set the ink's contrast nor stretch the crop that `service.preprocess`
makes around the digit. A pen one pixel wide (or a wider one on a canvas reduced to the working
size) draws lines the opening removes too: it left only their crossings, and the crop shrank to
them (a 1-pixel pen on a 500-2,000 pixel canvas: 50-83% of digits read right before, 98-100% now).
Such lines are kept as drawn.

A screenshot of a drawing app in light mode has bars as white as its canvas, so there is no edge
for `service.screen_bars` to cut at; their marks (the time and battery, a title, outline icons, a
palette of pens, a home indicator; a whiteboard's floating toolbar and zoom buttons) stretched the
crop instead. They lie in thin bands along the image's edges, far from the digit, and are left out.
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
# A band of marks apart from the digit's is an app's bar when it lies within this share of the image
# from an edge (on a phone the status and title bars take the top 6-11%, a palette of pens the
# bottom 10%; a whiteboard's floating toolbar the top 5-10%) ...
EDGE_SHARE = 0.15
THIN_BAND = 0.5  # ... is at most this share of the digit's band thick (or of the image: a small
THIN_SHARE = 0.08  # digit's beside a palette of pens) ...
# ... and lies at least this share of the digit's band away from it (a digit's own detached stroke
# lies closer: of 2,000 MNIST digits cropped tight, none lost a mark) and of the image (a fine pen's
# digit, in pieces where its faint line breaks, has its pieces closer)
FAR_BAND = 0.25
FAR_SHARE = 0.05
# Screenshots and ruled pages are hundreds of pixels a side (a phone's, reduced to the working
# size: 236 x 512); a smaller image is a digit alone, whose strokes can span it and be mistaken for
# bars or rules (measured: 13 of 2,000 tightly cropped MNIST digits 30-70 pixels tall were cut into).
MIN_PAGE_SIDE = 128


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


def true_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in the one-dimensional `flags`."""
    steps = np.flatnonzero(np.diff(np.concatenate([[False], flags, [False]]).astype(np.int8)))
    return list(zip(steps[::2].tolist(), steps[1::2].tolist(), strict=True))


def _without_edge_bands(digit: np.ndarray, axis: int) -> np.ndarray:
    """`digit` without the bands of marks along the two edges across `axis` (0: top and bottom)."""
    bands = true_runs(digit.any(axis=1 - axis))
    if len(bands) < 2:
        return digit
    # the digit's band is the longest: a bar's marks hold more ink than a thin "1" or "7" at times
    main_start, main_stop = max(bands, key=lambda band: band[1] - band[0])
    main = main_stop - main_start
    length = digit.shape[axis]
    kept = digit.copy()
    for start, stop in bands:
        at_edge = stop <= EDGE_SHARE * length or start >= (1 - EDGE_SHARE) * length
        gap = max(main_start - stop, start - main_stop)
        thin = stop - start <= max(THIN_BAND * main, THIN_SHARE * length)
        if at_edge and thin and gap >= max(FAR_BAND * main, FAR_SHARE * length):
            np.moveaxis(kept, axis, 0)[start:stop] = False
    return kept


def without_edge_marks(digit: np.ndarray) -> np.ndarray:
    """The digit's mask without the marks of an app's bars along the image's edges: top and
    bottom, then left and right (a desktop's tool panel)."""
    if min(digit.shape) < MIN_PAGE_SIDE:
        return digit
    return _without_edge_bands(_without_edge_bands(digit, 0), 1)
