"""Fine-pen drawings get MNIST's stroke width before they are shrunk; MNIST-like strokes are kept."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from loadtest.renderings import encoded
from service.preprocess import image_bytes_to_pixels
from service.stroke_width import stroke_width, with_mnist_stroke_width

MAX_PIXELS = 4_000_000


@pytest.mark.parametrize("width", [1, 4, 12])
def test_the_width_of_a_straight_stroke_is_measured(width: int) -> None:
    mask = np.zeros((100, 300), dtype=bool)
    mask[40 : 40 + width, 20:280] = True
    assert stroke_width(mask) == pytest.approx(width, rel=0.15, abs=1.0)


def seven_drawn_with(pen: int, side: int = 400) -> bytes:
    """A "7" about two thirds of the canvas tall (260 pixels on the default 400-pixel canvas)."""
    canvas = Image.new("L", (side, side), 255)
    corners = [(x * side / 400, y * side / 400) for x, y in [(100, 70), (300, 70), (180, 330)]]
    ImageDraw.Draw(canvas).line(corners, fill=0, width=pen, joint="curve")
    return encoded(canvas, "PNG")


def ink_rows(pixels: np.ndarray) -> int:
    return int((pixels > 127).any(axis=1).sum())


def test_a_fine_pen_drawing_is_prepared_like_the_same_digit_drawn_with_a_broad_pen() -> None:
    broad = image_bytes_to_pixels(seven_drawn_with(26), MAX_PIXELS)
    for pen in (1, 2, 4):
        fine = image_bytes_to_pixels(seven_drawn_with(pen), MAX_PIXELS)
        assert (fine > 127).sum() == pytest.approx((broad > 127).sum(), rel=0.35), pen


def test_strokes_as_wide_as_mnists_are_left_as_they_are() -> None:
    digit = np.zeros((200, 120), dtype=bool)
    digit[:, 50:74] = True  # a "1" 200 tall, 24 wide: 12% of its height
    cropped = digit.astype(np.float32) * 255
    assert with_mnist_stroke_width(cropped, digit) is cropped


@pytest.mark.parametrize("side", [1000, 2000])
@pytest.mark.parametrize("pen", [1, 2, 3])
def test_hairlines_of_a_canvas_reduced_for_preparation_are_read_as_the_digit(pen: int, side: int) -> None:
    """Reduced to the working size, such lines are at most a pixel wide: the speck filter would
    leave only their crossings, and the crop would shrink to those."""
    broad = image_bytes_to_pixels(seven_drawn_with(26), MAX_PIXELS)
    fine = image_bytes_to_pixels(seven_drawn_with(pen, side), MAX_PIXELS)
    assert ink_rows(fine) == pytest.approx(ink_rows(broad), abs=2)
