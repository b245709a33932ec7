"""How far a ruled, squared or graph page was turned in a photo, so that its lines run straight.

`service.form_lines` finds a page's printed lines as rows (or columns) that faint ink fills
across the page. A page photographed a degree or more askew puts each line across several rows,
none of them filled, and its lines stay in the crop (squared paper turned 1-3 degrees: 24-32% of
MNIST digits read right, against 99% square to the image). The tilt is the shear that gathers the
faint ink into the sharpest rows, where those rows are the page's lines: searched on a copy at
most SEARCH_SIDE pixels across (each pixel set if any it covers is: a thin line stays whole), in
coarse steps and then fine ones around the best, and last at full size. The image is then turned
by as much; the digit leans by a few degrees more or less, much less than MNIST's own digits lean.
The search costs about 1 ms per image file of 128 pixels or more a side (smaller ones are never
pages), all the shears of a step counted in one `numpy.bincount`.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from service.form_lines import FAINT_LINE, MIN_RULES, RULE_COVER, parallel_lines
from service.ink_marks import MIN_PAGE_SIDE

MAX_TILT = 6.0  # degrees either way; a page turned further is a page photographed carelessly
COARSE_STEP = 0.5  # degrees; then FINE_STEP within a coarse step either side of the best
FINE_STEP = 0.1
# the copy's best is within this many degrees of the truth (pages of 150-256 pixels across); the
# search at full size takes smaller steps within it
LAST_SPAN = 0.4
LAST_STEP = 0.05
SEARCH_SIDE = 256
# Turned only when that makes the lines this many times sharper: a small page turned a degree can
# still fill 60% of a row along each line (found as lines), and their ends then stay in the crop
SHARPER = 1.1
# A ruled page's lines and its digit fill less than this share of it (squares of 10 pixels drawn in
# 2-pixel lines: 36%): a denser faint mask is a texture or a dark photo, never searched (which
# also bounds the search's cost)
MAX_FAINT_SHARE = 0.45


def page_tilt(ink: np.ndarray, contrast: float) -> float:
    """Degrees to turn the image by (counter-clockwise, as `turned` does) so that the lines of its
    page, in the `ink` at FAINT_LINE of the digit's `contrast`, run square to it; 0.0 when there
    are no such lines or they already do."""
    if min(ink.shape) < MIN_PAGE_SIDE:
        return 0.0
    faint_ink = ink >= FAINT_LINE * contrast
    pooled = _max_pooled(faint_ink)
    if pooled.mean() > MAX_FAINT_SHARE:
        return 0.0
    # rows of the page's lines, or its columns (a ruled page photographed sideways), whichever
    # a shear sharpens more first; a column's tilt turns the image the other way
    found = [(*_best_shear(pooled), faint_ink, 1.0), (*_best_shear(pooled.T), faint_ink.T, -1.0)]
    for gain, tilt, mask, sense in sorted(found, key=lambda one: one[0], reverse=True):
        if gain <= SHARPER:
            break
        # the copy's pixels are too coarse to tell a tenth of a degree, or a small page's lines
        # from its thicker strokes: the last steps, and the lines, at full size
        shears = _Shears(mask)
        best, sharpness = shears.sharpest(np.arange(tilt - LAST_SPAN, tilt + LAST_SPAN + LAST_STEP / 2, LAST_STEP))
        full_size_gain, at_best = shears.gain(best, sharpness)
        if parallel_lines(at_best) and full_size_gain > SHARPER:
            return sense * best
    return 0.0


def turned(pixels: np.ndarray, degrees: float) -> np.ndarray:
    """`pixels` (levels of ink, 0 where there is none) turned counter-clockwise about their centre."""
    image = Image.fromarray(pixels.astype(np.float32), mode="F")
    return np.asarray(image.rotate(degrees, resample=Image.Resampling.BILINEAR, fillcolor=0.0))


def _best_shear(mask: np.ndarray) -> tuple[float, float]:
    """(gain, degrees): the shear of `mask` whose rows are sharpest, in coarse steps then fine ones
    around the best, and how many times sharper than the image as it is; a gain of 0.0 where
    fewer than MIN_RULES rows are filled as a line fills its row (a slanted stroke of a digit on a
    plain page: the full-size search is not run for it)."""
    shears = _Shears(mask)
    coarse, _ = shears.sharpest(np.arange(-MAX_TILT, MAX_TILT + COARSE_STEP / 2, COARSE_STEP))
    low, high = max(coarse - COARSE_STEP, -MAX_TILT), min(coarse + COARSE_STEP, MAX_TILT)
    best, sharpness = shears.sharpest(np.arange(low, high + FINE_STEP / 2, FINE_STEP))
    gain, at_best = shears.gain(best, sharpness)
    if np.count_nonzero(at_best >= RULE_COVER) < MIN_RULES:
        return 0.0, best
    return gain, best


class _Shears:
    """The rows of a mask's pixels once the mask is sheared, for many shears at once."""

    def __init__(self, mask: np.ndarray) -> None:
        rows, cols = np.nonzero(mask)
        self.rows = rows.astype(np.int32)
        self.from_centre = cols - mask.shape[1] / 2
        self.height, self.width = mask.shape

    def filled_at(self, degrees: np.ndarray) -> np.ndarray:
        """Each row's share of pixels at each shear: one bincount for all of them, pixels sheared
        off the image counted in a row either side that is then dropped."""
        shifts = np.rint(np.tan(np.radians(degrees))[:, np.newaxis] * self.from_centre).astype(np.int32)
        per_shear = self.height + 2
        sheared = np.clip(self.rows - shifts, -1, self.height) + 1
        sheared += per_shear * np.arange(len(degrees), dtype=np.int32)[:, np.newaxis]
        counts = np.bincount(sheared.ravel(), minlength=len(degrees) * per_shear).reshape(-1, per_shear)
        return counts[:, 1:-1] / self.width

    def sharpest(self, degrees: np.ndarray) -> tuple[float, float]:
        """The shear among `degrees` whose rows are sharpest, and their sharpness: the rows' shares
        of pixels squared and summed, highest where each line fills one row."""
        sharpness = np.square(self.filled_at(degrees)).sum(axis=1)
        return float(degrees[sharpness.argmax()]), float(sharpness.max())

    def gain(self, degrees: float, sharpness: float) -> tuple[float, np.ndarray]:
        """How many times sharper the rows are at the shear of `degrees` (whose `sharpness` the
        search measured) than unsheared, and each row's share of pixels at that shear."""
        straight, sheared = self.filled_at(np.array([0.0, degrees]))
        return sharpness / max(float(np.square(straight).sum()), 1e-9), sheared


def _max_pooled(mask: np.ndarray) -> np.ndarray:
    """`mask` at most SEARCH_SIDE pixels across, each pixel set if any of those it covers is (one
    strided slice per pixel of a block: a block is 2x2 at the working size)."""
    block = math.ceil(max(mask.shape) / SEARCH_SIDE)
    pooled = np.zeros((-(-mask.shape[0] // block), -(-mask.shape[1] // block)), dtype=bool)
    for down in range(block):
        for across in range(block):
            part = mask[down::block, across::block]
            pooled[: part.shape[0], : part.shape[1]] |= part
    return pooled
