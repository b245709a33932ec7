"""Pen strokes traced from real handwriting (MNIST test digits), for drawing digits in a browser.

A browser test that draws digits must draw like people do: continuous strokes, at any size and
anywhere on the canvas. Each MNIST digit is enlarged, thinned to its one-pixel skeleton
(scikit-image), and the skeleton is walked into polylines, which are then placed on the canvas at
a chosen size and position. The pen's own width replaces the writer's stroke width, as it does when
a person draws on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from skimage.morphology import skeletonize

UPSCALE = 4  # the skeleton of a 112x112 enlargement follows the strokes more smoothly than at 28x28
INK_LEVEL = 0.4  # fraction of the digit's brightest pixel that counts as ink
POINT_SPACING = 3  # keep every third skeleton pixel (in the enlargement): about 10-40 points a stroke
MIN_STROKE_PIXELS = 3  # skeleton spurs shorter than this are thinning noise, not strokes
NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]

Stroke = list[tuple[float, float]]  # (x, y) points


@dataclass(frozen=True)
class Placement:
    """Where a digit goes on a square canvas, as fractions of its side: size (the longer side of the
    digit's box) and centre."""

    size: float
    centre_x: float
    centre_y: float


def trace_strokes(digit: np.ndarray) -> list[Stroke]:
    """A 28x28 MNIST digit -> strokes in the unit square (x right, y down), in writing order."""
    enlarged = np.asarray(
        Image.fromarray(np.asarray(digit, dtype=np.float32), mode="F").resize(
            (digit.shape[1] * UPSCALE, digit.shape[0] * UPSCALE), Image.Resampling.BILINEAR
        )
    )
    skeleton = skeletonize(enlarged >= INK_LEVEL * float(enlarged.max()))
    strokes = [_thin_out(path) for path in _walk(skeleton) if len(path) >= MIN_STROKE_PIXELS]
    side = float(skeleton.shape[0])
    return [[(x / side, y / side) for y, x in path] for path in strokes]


def _walk(skeleton: np.ndarray) -> list[list[tuple[int, int]]]:
    """Skeleton pixels -> paths: start at the topmost free end, follow the line as straight as it goes."""
    unvisited = {(int(y), int(x)) for y, x in np.argwhere(skeleton)}
    paths = []
    while unvisited:
        ends = [pixel for pixel in unvisited if len(_free_neighbours(pixel, unvisited)) <= 1]
        start = min(ends or unvisited)  # topmost, then leftmost: where people start a digit
        path = [start]
        unvisited.discard(start)
        joined = _visited_neighbour(start, skeleton, unvisited)
        if joined is not None:  # a branch off a line already drawn: start from that line
            path.insert(0, joined)
        while True:
            options = _free_neighbours(path[-1], unvisited)
            if not options:
                break
            step = min(options, key=lambda pixel: _turn(path, pixel))
            path.append(step)
            unvisited.discard(step)
        paths.append(path)
    return paths


def _free_neighbours(pixel: tuple[int, int], unvisited: set[tuple[int, int]]) -> list[tuple[int, int]]:
    y, x = pixel
    return [(y + dy, x + dx) for dy, dx in NEIGHBOURS if (y + dy, x + dx) in unvisited]


def _visited_neighbour(pixel, skeleton: np.ndarray, unvisited: set) -> tuple[int, int] | None:
    y, x = pixel
    for dy, dx in NEIGHBOURS:
        ny, nx = y + dy, x + dx
        if 0 <= ny < skeleton.shape[0] and 0 <= nx < skeleton.shape[1] and skeleton[ny, nx]:
            if (ny, nx) not in unvisited:
                return ny, nx
    return None


def _turn(path: list[tuple[int, int]], pixel: tuple[int, int]) -> float:
    """How far stepping to `pixel` turns away from the path's last few steps (0: straight on)."""
    back = path[max(0, len(path) - 4)]
    heading = np.subtract(path[-1], back)
    step = np.subtract(pixel, path[-1])
    if not heading.any():
        return float(np.abs(step).sum())  # first step: prefer the four direct neighbours
    return -float(np.dot(heading, step) / (np.linalg.norm(heading) * np.linalg.norm(step)))


def _thin_out(path: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return path[::POINT_SPACING] + ([path[-1]] if (len(path) - 1) % POINT_SPACING else [])


def place(strokes: list[Stroke], placement: Placement, side: float) -> list[Stroke]:
    """Scale unit-square strokes so the digit's box spans `placement.size` of a canvas `side` wide."""
    points = np.array([point for stroke in strokes for point in stroke])
    low, high = points.min(axis=0), points.max(axis=0)
    scale = placement.size * side / max(float((high - low).max()), 1e-6)
    centre = (low + high) / 2
    target = np.array([placement.centre_x, placement.centre_y]) * side
    return [[tuple((np.array(point) - centre) * scale + target) for point in stroke] for stroke in strokes]


def random_placement(rng: np.random.Generator, min_size: float = 0.25, max_size: float = 0.85) -> Placement:
    """A size between `min_size` and `max_size` of the canvas, anywhere the whole digit stays on it."""
    size = float(rng.uniform(min_size, max_size))
    margin = size / 2 + 0.04  # half the box, and the pen's half-width
    return Placement(size, float(rng.uniform(margin, 1 - margin)), float(rng.uniform(margin, 1 - margin)))


def pick_digits(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `per_class` random test digits of each class, classes interleaved."""
    chosen = [rng.choice(np.flatnonzero(labels == digit), per_class, replace=False) for digit in range(10)]
    return np.stack(chosen, axis=1).ravel()


@dataclass(frozen=True)
class DrawingCase:
    """One digit to draw: its label, its traced strokes (unit square) and where it goes."""

    label: int
    index: int  # in the MNIST test set
    strokes: list[Stroke]
    placement: Placement

    def on_canvas(self, side: float) -> list[Stroke]:
        return place(self.strokes, self.placement, side)


def drawing_cases(images: np.ndarray, labels: np.ndarray, per_class: int, seed: int) -> list[DrawingCase]:
    """`per_class` test digits of each class, traced, each at a random size and place."""
    rng = np.random.default_rng(seed)
    return [
        DrawingCase(int(labels[index]), int(index), trace_strokes(images[index]), random_placement(rng))
        for index in pick_digits(labels, per_class, rng)
    ]
