"""A screenshot of a drawing app: the canvas is the page, the app's bars around it are not.

People draw a digit in an app on their phone or desktop and send a screenshot of it. Around the
canvas lie the app's bars: a status bar with the time and battery, a toolbar with icons, a
navigation bar, a tool panel. Their marks were read as ink and the crop took them in with the
digit: of 2,000 MNIST test digits drawn so, 13% were read right (`python -m
loadtest.image_accuracy`; 99.25% now).

A bar meets the canvas along a straight edge across the screen, where the grey level steps in
(nearly) every column at once, with a different ground on each side. The image is cut into
strips at such edges, across and then down; the tallest strip is the canvas. Ruled lines and a
form's lines have the same ground on both sides, a photo's shadow and a sheet's edge are never
that straight, and a digit's own stroke that spans the image (a tightly cropped "7"'s bar, a "1")
runs on into the rest of the digit, where a bar is set off from the drawing by bare canvas: each
side is cut only where the canvas's row beside the cut is bare. Small images are never
screenshots and are left alone.
"""

from __future__ import annotations

import numpy as np

from service.ink_marks import MIN_PAGE_SIDE

STEP_LEVEL = 4.0  # grey levels between the two sides of an edge (a white bar on a white canvas: none)
# The share of the columns (or rows) in which the level steps together somewhere along an edge:
# not all, as a side panel in the status bar's colour has no edge with it ...
EDGE_SPAN = 0.85
PART_SPAN = 0.5  # ... and in at least this share all along it (a digit crossing a line breaks it)
CLEAR_SPAN = 0.98  # the share of a row beside a cut that is bare ground
MIN_BAR = 0.015  # strips thinner than this share of the side are lines, not bars
MIN_CANVAS = 0.4  # the canvas, the tallest strip, is at least this share of the side
EDGE_MARGIN = 2  # pixels inside each cut: the edge's own blurred row stays out
CLEAR_LEVEL = 2 * STEP_LEVEL  # bare ground varies less than this (JPEG noise, a paper's grain)
MAX_ROUNDS = 3  # of finding the strips across and down, each within the other's canvas


def canvas_box(grey: np.ndarray) -> tuple[slice, slice] | None:
    """The canvas's rows and columns in a grey image; None when no bar borders it.

    The strips across and down are found in turns, each within the other's canvas: a desktop
    app's tool panel runs down between its menu bar and its status bar, so its edge spans the
    full height only of the rows between them. Then each side of the canvas is cut only where
    the canvas's row (or column) beside the cut is bare ground: a bar is set off from the drawing
    by the canvas, while a stroke of the digit that spans the image (a tightly cropped "7"'s bar,
    a "1", a "4"'s stem) runs on into the rest of the digit, so the row beside it holds ink."""
    height, width = grey.shape
    if min(height, width) < MIN_PAGE_SIDE:
        return None
    rows, cols = slice(0, height), slice(0, width)
    for _ in range(MAX_ROUNDS):
        found = _canvas_span(grey[:, cols]), _canvas_span(grey[rows, :].T)
        if found == (rows, cols):
            break
        rows, cols = found
    top = rows.start + EDGE_MARGIN if rows.start > 0 and _clear(grey[rows.start + EDGE_MARGIN, cols]) else 0
    bottom = (
        rows.stop - EDGE_MARGIN if rows.stop < height and _clear(grey[rows.stop - EDGE_MARGIN - 1, cols]) else height
    )
    left = cols.start + EDGE_MARGIN if cols.start > 0 and _clear(grey[rows, cols.start + EDGE_MARGIN]) else 0
    right = cols.stop - EDGE_MARGIN if cols.stop < width and _clear(grey[rows, cols.stop - EDGE_MARGIN - 1]) else width
    if (top, bottom, left, right) == (0, height, 0, width):
        return None
    return slice(top, bottom), slice(left, right)


def _canvas_span(grey: np.ndarray) -> slice:
    """The tallest strip between full-width edges, as a slice of rows: all of them where there
    is none, or where the tallest is too small a part of the image to be a canvas."""
    height = grey.shape[0]
    if height < 8:
        return slice(0, height)
    # A step over two rows, so that an edge blurred over one row (anti-aliasing, JPEG) counts.
    stepping = (np.abs(grey[2:] - grey[:-2]) > STEP_LEVEL).mean(axis=1)
    edge_rows = np.flatnonzero(stepping >= PART_SPAN) + 1
    cuts = [0, *_edges_between_levels(grey, edge_rows, stepping), height]
    thin = {index for index in range(len(cuts) - 1) if cuts[index + 1] - cuts[index] < MIN_BAR * height}
    # A thin strip is a line (a form's rule, a frame's side) with the same ground on both sides:
    # neither of its edges is a cut.
    cuts = [cut for index, cut in enumerate(cuts) if cut in (0, height) or not {index - 1, index} & thin]
    top, bottom = max(zip(cuts[:-1], cuts[1:], strict=True), key=lambda strip: strip[1] - strip[0])
    return slice(top, bottom) if bottom - top >= MIN_CANVAS * height else slice(0, height)


def _clear(line: np.ndarray) -> bool:
    """Is a row (or column) of pixels bare ground, all but a few of them at its median level?"""
    return float(np.mean(np.abs(line - np.median(line)) <= CLEAR_LEVEL)) >= CLEAR_SPAN


def _edges_between_levels(grey: np.ndarray, edge_rows: np.ndarray, stepping: np.ndarray) -> list[int]:
    """One cut per run of edge rows that steps in (nearly) every column somewhere, at its middle,
    where the ground differs on its two sides.

    A run takes in the rows where at least PART_SPAN of the columns step, so that a ruled line
    the digit crosses is one run, however the crossing breaks its full-width rows. The ground of
    a side is the median level of the row just outside the run: a bar's icons, a status bar's text
    or the digit fill less than half of it, and keep clear of the bar's edge. A line across the
    image has the same ground on both sides and is no cut."""
    if edge_rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(edge_rows) > 1) + 1
    cuts = []
    for run in np.split(edge_rows, breaks):
        if stepping[run - 1].max() < EDGE_SPAN:
            continue
        before, after = np.median(grey[run[0] - 1]), np.median(grey[min(run[-1] + 1, len(grey) - 1)])
        if abs(float(after) - float(before)) > STEP_LEVEL:
            cuts.append(int(run[len(run) // 2]))
    return cuts
