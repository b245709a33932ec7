"""Ink that is not the digit: the box a form draws around it, a line under or beside it, a ruled page.

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
before. Not so the lines of squared, graph or ruled paper darker than a notebook's faint rules,
which the digit crosses: they are found as lines, rows (or columns) that ink fills along most of
the page, thin, three or more in parallel, at a lower threshold than the digit's, where they show
along all their length. A stroke that runs on across a line keeps its pixels on it. Lines square
to the image are found: a page photographed askew is turned straight first (`service.page_tilt`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from service.ink_marks import MIN_PAGE_SIDE, true_runs

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
# A ruled page's line fills at least this share of the page's rows or columns' length ...
RULE_COVER = 0.6
RULE_MAX_THICKNESS = 0.02  # ... is at most this share of the page thick ...
MIN_RULES = 3  # ... and parallels: a tightly cropped "7"'s bar is one, a form's box has two ...
RULES_SPREAD = 0.5  # ... spread over this share of the page (a large "1"'s edges: thin runs side by side)
# A line is left out only where this share of its length, beside the digit, passes the digit's own
# threshold: a notebook's fainter rules leave the crop alone, and taking them out cost answers
LINE_SHOWS = 0.01
FAINT_LINE = 0.15  # share of the ink's contrast at which a ruled page's lines show along all their length


def form_line_pixels(digit: np.ndarray, ink: np.ndarray, contrast: float) -> np.ndarray | None:
    """Where frames and rules around the digit lie in the ink mask `digit`, with their one-pixel
    fringe of fainter ink (anti-aliasing, blur) that the mask's threshold left out, and the lines
    of a ruled page, found in the `ink` whose digit reaches `contrast`; None if none."""
    ruled = page_rule_pixels(digit, ink, contrast)
    pieces_stray = _stray_pieces(digit if ruled is None else digit & ~ruled)
    if ruled is None or pieces_stray is None:
        return ruled if pieces_stray is None else pieces_stray
    return ruled | pieces_stray


def page_rule_pixels(digit: np.ndarray, ink: np.ndarray, contrast: float) -> np.ndarray | None:
    """The rows and columns that the printed lines of ruled, squared or graph paper fill across the
    page, looked for in the `ink` at FAINT_LINE of the digit's `contrast` (lines that pass the
    digit's threshold cross it, one piece with it; fainter ones are read unevenly along their
    length), with a pixel either side, but where a stroke of the digit (in its mask `digit`) runs on
    across a line; None where fewer than MIN_RULES lines run one way."""
    if min(digit.shape) < MIN_PAGE_SIDE:
        return None
    faint_ink = ink >= FAINT_LINE * contrast
    lines = {}  # per axis, each line's first and last row (or column) with a pixel either side
    for axis in (0, 1):
        found = parallel_lines(faint_ink.mean(axis=1 - axis))
        if found:
            lines[axis] = [(max(0, start - 1), min(digit.shape[axis], stop + 1)) for start, stop in found]
    beside_lines = digit & ~_marked(digit.shape, lines)
    for axis in lines:  # lines that do not pass the digit's threshold beside it leave the crop alone
        beside_digit = ~beside_lines.any(axis=axis)
        lines[axis] = [
            (first, last)
            for first, last in lines[axis]
            if (np.moveaxis(digit, axis, 0)[first:last].any(axis=0) & beside_digit).mean() >= LINE_SHOWS
        ]
    rules = _marked(digit.shape, lines)
    for axis, spans in lines.items():
        along, marked = np.moveaxis(beside_lines, axis, 0), np.moveaxis(rules, axis, 0)
        for first, last in spans:  # a stroke runs on across the line where there is ink on both sides
            marked[first:last, along[max(0, first - 1)] & along[min(len(along) - 1, last)]] = False
    return rules if rules.any() else None


def parallel_lines(filled: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of the page's lines among rows whose share of pixels `filled` is given: thin
    runs of rows filled along RULE_COVER of their length, at least MIN_RULES of them spread over
    RULES_SPREAD of the page; none when they are fewer."""
    found = [
        (start, stop)
        for start, stop in true_runs(filled >= RULE_COVER)
        if stop - start <= RULE_MAX_THICKNESS * len(filled)
    ]
    if len(found) >= MIN_RULES and found[-1][1] - found[0][0] >= RULES_SPREAD * len(filled):
        return found
    return []


def _marked(shape: tuple[int, int], lines: dict[int, list[tuple[int, int]]]) -> np.ndarray:
    """A mask of the rows (axis 0) and columns (axis 1) that `lines` span."""
    marked = np.zeros(shape, dtype=bool)
    for axis, spans in lines.items():
        for first, last in spans:
            np.moveaxis(marked, axis, 0)[first:last] = True
    return marked


def _stray_pieces(digit: np.ndarray) -> np.ndarray | None:
    """Frames and rules among the connected pieces of `digit`, with their fringe; None if none."""
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
