"""Marks that are not the digit are left out (an app's light bars along the edges); the digit's
own detached strokes, and everything in small images, stay."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from loadtest.renderings import encoded
from service.ink_marks import MIN_PAGE_SIDE, without_edge_marks
from service.preprocess import image_bytes_to_pixels
from tests.test_screen_bars import CANVAS, MAX_PIXELS, canvas_alone, seven_on


def light_phone_screenshot() -> Image.Image:
    """Light mode: the bars as white as the canvas, only their marks show: the time, a battery, a
    title and outline icons above, a palette of pens and the home indicator below."""
    screen = Image.new("L", (300, 500), CANVAS)
    draw = ImageDraw.Draw(screen)
    draw.text((10, 6), "9:41", fill=0)
    draw.rectangle([250, 8, 280, 16], outline=0, width=2)
    draw.text((10, 36), "< Notes", fill=40)
    for left in (200, 230, 260):
        draw.rounded_rectangle([left, 34, left + 16, 50], 4, outline=60, width=2)
    for left in range(60, 240, 40):
        draw.rounded_rectangle([left, 440, left + 24, 470], 6, outline=60, width=2)
    draw.rounded_rectangle([100, 486, 200, 491], 3, fill=0)
    seven_on(screen, 110, 200)
    return screen


def light_desktop_screenshot() -> Image.Image:
    """A whiteboard in a browser: a floating toolbar at the top, a tool panel down the left, zoom
    buttons in a bottom corner, all on the canvas's white."""
    screen = Image.new("L", (512, 400), CANVAS)
    draw = ImageDraw.Draw(screen)
    for left in range(180, 340, 30):
        draw.rounded_rectangle([left, 10, left + 20, 30], 5, outline=30, width=2)
    for top in range(80, 320, 40):
        draw.ellipse([12, top, 36, top + 24], outline=30, width=2)
    draw.text((10, 380), "- 100% +", fill=0)
    seven_on(screen, 250, 130)
    return screen


def dark_mode(screenshot: Callable[[], Image.Image]) -> Callable[[], Image.Image]:
    """The same screen in dark mode: light marks and ink on black."""
    return lambda: ImageOps.invert(screenshot())


@pytest.mark.parametrize(
    ("screenshot", "canvas"),
    [
        (light_phone_screenshot, canvas_alone),
        (light_desktop_screenshot, canvas_alone),
        (dark_mode(light_phone_screenshot), dark_mode(canvas_alone)),
    ],
    ids=["phone", "desktop", "phone in dark mode"],
)
def test_a_screenshot_with_bars_like_its_canvas_is_prepared_as_its_canvas_alone(screenshot, canvas) -> None:
    expected = image_bytes_to_pixels(encoded(canvas(), "PNG"), MAX_PIXELS)
    assert np.abs(image_bytes_to_pixels(encoded(screenshot(), "PNG"), MAX_PIXELS) - expected).max() < 1


def test_a_digits_detached_stroke_near_its_body_stays() -> None:
    """A "5" cropped tight, its bar written apart from its body: a band at the edge, but close."""
    digit = np.zeros((300, 200), dtype=bool)
    digit[0:20, 20:190] = True  # the bar
    digit[50:300, 20:180] = True  # the body, 30 rows below (12% of its height)
    assert np.array_equal(without_edge_marks(digit), digit)


def test_marks_at_the_edges_of_a_small_image_stay() -> None:
    side = MIN_PAGE_SIDE - 1
    digit = np.zeros((side, side), dtype=bool)
    digit[0:3, 10:40] = True
    digit[40:110, 50:70] = True
    assert np.array_equal(without_edge_marks(digit), digit)


def test_a_band_far_from_the_digit_at_the_edge_goes() -> None:
    digit = np.zeros((600, 300), dtype=bool)
    digit[5:15, 10:60] = True  # the time in a status bar
    digit[250:400, 120:150] = True  # a "1"
    kept = without_edge_marks(digit)
    assert not kept[:200].any() and np.array_equal(kept[200:], digit[200:])
