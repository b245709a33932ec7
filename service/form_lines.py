"""Ink that is not the digit: the box a form draws around it, a line under or beside it.

Digits are often written in a form's box or on a line; the crop to the ink then takes in the box
and the digit shrinks to a fraction of the 20x20 MNIST box: of 2,000 MNIST test digits printed in
a form's box, 28% were read right, above its line 43% (`python -m loadtest.image_accuracy`; 99.1%
and 99.3% now). Such marks are told apart from strokes by their shape, per connected piece of ink:

- a frame: a hollow piece whose bounding box holds all the other ink and that has one straight
  horizontal and one straight vertical side (a box, three sides of one, a corner of one). A "0"
  has no straight side, a "7", "9" or "4" strokes across its middle; and a lone piece is the
  digit, whatever its shape, as is one beside which the rest of the ink is specks (spanning
  less than a quarter of its length);
- a rule: a thin straight piece wholly below the rest of the ink and about as wide (an
  underline), or wholly above or beside it and reaching past it at both ends (a form's line, a
  box's side cut off by the photo). A "5"'s separate flag does not reach past its body on both
  sides, nor does a "4"'s separate stem rise above and reach below its other stroke, so they stay.

Digits that touch the box or the line keep it (the piece is then one); such pages are read as
before.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SIDE_BAND = 0.1  # a straight side lies within this fraction of the box's size from its edge ...
SIDE_COVERAGE = 0.8  # ... and covers at least this much of the edge's length (an ellipse: 30%)
HOLLOW_INSIDE = 0.1  # a frame has at most this much of its ink away from its sides
REST_MIN_EXTENT = 0.25  # a piece goes only if the ink left spans at least this much of its length
RULE_THINNESS = 8  # a rule is at least this many times longer than it is thick
RULE_BELOW_LENGTH = 0.9  # an underline is at least this long against the digit's width; a line
RULE_OVERHANG = 0.1  # above or beside it reaches past both its ends by this much of its extent
# More pieces than this are a texture or noise, not a digit with a few lines: left as they are
# (and the pairwise comparisons below stay bounded whatever an image holds).
MAX_PIECES = 64
EIGHT_NEIGHBOURS = np.ones((3, 3), dtype=bool)


def form_line_pixels(digit: np.ndarray) -> np.ndarray | None:
    """Where frames and rules around the digit lie in the ink mask `digit`, with their one-pixel
    fringe of fainter ink (anti-aliasing, blur) that the mask's threshold left out; None if none."""
    labels, count = ndimage.label(digit, structure=EIGHT_NEIGHBOURS)
    if not 2 <= count <= MAX_PIECES:
        return None
    slices = ndimage.find_objects(labels)
    pieces = [labels[box] == index for index, box in enumerate(slices, start=1)]
    boxes = [_bounds(box) for box in slices]
    kept = set(range(count))
    for is_stray in (_is_frame, _is_rule):  # frames first: a line inside a box is judged without the box
        for index in sorted(kept):
            others = [other for other in kept if other != index]
            if not others:
                break
            rest = _union([boxes[other] for other in others])
            if _extent(rest) < REST_MIN_EXTENT * _extent(boxes[index]):
                continue  # the rest is specks or fragments of a faint line: this piece is the digit
            if is_stray(pieces[index], boxes[index], rest):
                kept.discard(index)
    if len(kept) == count:
        return None
    digit_itself = np.isin(labels, [index + 1 for index in kept])
    return ndimage.binary_dilation(digit & ~digit_itself, structure=EIGHT_NEIGHBOURS) & ~digit_itself


def _bounds(box: tuple[slice, slice]) -> tuple[int, int, int, int]:
    """top, bottom, left, right, ends included."""
    return box[0].start, box[0].stop - 1, box[1].start, box[1].stop - 1


def _extent(box: tuple[int, int, int, int]) -> int:
    """The longer side of a box."""
    return max(box[1] - box[0], box[3] - box[2]) + 1


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    corners = np.array(boxes)
    return corners[:, 0].min(), corners[:, 1].max(), corners[:, 2].min(), corners[:, 3].max()


def _is_frame(piece: np.ndarray, box: tuple[int, int, int, int], rest: tuple[int, int, int, int]) -> bool:
    top, bottom, left, right = box
    inside = rest[0] > top and rest[1] < bottom and rest[2] > left and rest[3] < right
    if not inside:
        return False
    height, width = piece.shape
    band_y, band_x = max(1, round(height * SIDE_BAND)), max(1, round(width * SIDE_BAND))
    if piece[band_y:-band_y, band_x:-band_x].sum() > HOLLOW_INSIDE * piece.sum():
        return False  # strokes across its middle: a "9" (flat top, straight stem) or a "4", not a box
    straight_horizontal = max(piece[:band_y].any(axis=0).mean(), piece[-band_y:].any(axis=0).mean())
    straight_vertical = max(piece[:, :band_x].any(axis=1).mean(), piece[:, -band_x:].any(axis=1).mean())
    return straight_horizontal >= SIDE_COVERAGE and straight_vertical >= SIDE_COVERAGE


def _is_rule(piece: np.ndarray, box: tuple[int, int, int, int], rest: tuple[int, int, int, int]) -> bool:
    top, bottom, left, right = box
    height, width = piece.shape
    if width >= RULE_THINNESS * height:  # horizontal
        if top > rest[1]:
            return width >= RULE_BELOW_LENGTH * (rest[3] - rest[2] + 1)
        return bottom < rest[0] and _reaches_past(left, right, rest[2], rest[3])
    if height >= RULE_THINNESS * width:  # vertical
        beside = right < rest[2] or left > rest[3]
        return beside and _reaches_past(top, bottom, rest[0], rest[1])
    return False


def _reaches_past(start: int, end: int, rest_start: int, rest_end: int) -> bool:
    """A line that reaches past the rest of the ink at both ends: a form's, not a stroke of the digit."""
    margin = RULE_OVERHANG * (rest_end - rest_start + 1)
    return start < rest_start - margin and end > rest_end + margin
