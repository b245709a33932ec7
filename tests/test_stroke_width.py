"""Fine-pen drawings get MNIST's stroke width before they are shrunk; MNIST-like strokes are kept."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from loadtest.image_accuracy import encoded
from service.preprocess import image_bytes_to_pixels
from service.stroke_width import stroke_width, with_mnist_stroke_width

MAX_PIXELS = 4_000_000


@pytest.mark.parametrize("width", [1, 4, 12])
def test_the_width_of_a_straight_stroke_is_measured(width: int) -> None:
    mask = np.zeros((100, 300), dtype=bool)
    mask[40 : 40 + width, 20:280] = True
    assert stroke_width(mask) == pytest.approx(width, rel=0.15, abs=1.0)


def seven_drawn_with(pen: int) -> bytes:
    """A "7" about 260 pixels tall on a 400-pixel canvas."""
    canvas = Image.new("L", (400, 400), 255)
    ImageDraw.Draw(canvas).line([(100, 70), (300, 70), (180, 330)], fill=0, width=pen, joint="curve")
    return encoded(canvas, "PNG")


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
