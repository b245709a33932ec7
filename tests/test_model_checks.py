"""The measurements of flags and other writers: pages as users send them, refusals counted as flags."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from loadtest.not_a_digit import REFUSED, blank_page, on_page, served_answers
from loadtest.other_writers import LOW_RESOLUTION_HEIGHTS, low_resolution_page, thicker, thinner
from service.invalid_input import InvalidInput
from service.preprocess import image_bytes_to_pixels
from training.non_digits import CANVAS


def bar_ink() -> np.ndarray:
    ink = np.zeros((CANVAS, CANVAS), dtype=np.float32)
    ink[20:90, 50:60] = 1.0
    return ink


def test_refused_pages_count_as_flagged_and_answers_follow_the_threshold() -> None:
    rng = np.random.default_rng(0)
    files = [on_page(bar_ink(), rng), png_of(np.full((50, 50), 255, np.uint8)), on_page(bar_ink(), rng)]
    confidences = iter([0.9, 0.3])

    def probabilities(pixels: np.ndarray) -> np.ndarray:
        rows = np.full((len(pixels), 10), 0.0)
        for row in rows:
            row[1] = next(confidences)
        return rows

    digits, flagged = served_answers(files, probabilities, unsure_below=0.5)
    assert digits.tolist() == [1, REFUSED, 1]
    assert flagged.tolist() == [False, True, True]


def test_blank_pages_are_refused_or_nearly_empty() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        try:
            prepared = image_bytes_to_pixels(blank_page(rng), 10**7)
        except InvalidInput:
            continue
        assert prepared.shape == (28, 28)


def test_pens_change_stroke_width_and_low_resolution_keeps_the_digit_small() -> None:
    rng = np.random.default_rng(2)
    ink = bar_ink()
    assert thicker(ink, rng).sum() > ink.sum() > thinner(ink, rng).sum() > 0
    page = Image.open(io.BytesIO(low_resolution_page(ink, rng))).convert("L")
    dark_rows = np.flatnonzero((np.asarray(page) < 128).any(axis=1))
    assert LOW_RESOLUTION_HEIGHTS[0] - 2 <= dark_rows[-1] - dark_rows[0] + 1 <= LOW_RESOLUTION_HEIGHTS[1] + 2


def png_of(grey: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="PNG")
    return buffer.getvalue()
