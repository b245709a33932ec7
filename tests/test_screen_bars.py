"""A drawing app's screenshot is read as its canvas alone; pages with lines, shadows or a digit
alone are not cut."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from PIL import Image, ImageDraw

from loadtest.renderings import encoded
from service import preprocess
from service.preprocess import image_bytes_to_pixels
from service.screen_bars import canvas_box

CANVAS = 255
MAX_PIXELS = 4_000_000
# Every picture here is at most 512 pixels a side (service.preprocess.WORKING_SIDE), so that none is
# reduced before it is prepared and a screenshot's canvas matches the canvas alone pixel for pixel.


def seven_on(canvas: Image.Image, left: int, top: int) -> None:
    ImageDraw.Draw(canvas).line([(left, top), (left + 80, top), (left + 40, top + 120)], fill=0, width=10)


def phone_screenshot() -> Image.Image:
    """A status bar with the time and a battery, a blue toolbar with icons, a grey navigation bar."""
    screen = Image.new("L", (300, 500), CANVAS)
    draw = ImageDraw.Draw(screen)
    draw.rectangle([0, 0, 300, 24], fill=0)
    draw.text((10, 6), "12:45", fill=255)
    draw.rectangle([250, 8, 280, 16], fill=255)
    draw.rectangle([0, 24, 300, 80], fill=110)
    for left in (15, 65, 115):
        draw.rectangle([left, 38, left + 28, 66], fill=255)
    draw.rectangle([0, 450, 300, 500], fill=230)
    for centre in (60, 150, 240):
        draw.ellipse([centre - 12, 463, centre + 12, 487], fill=90)
    seven_on(screen, 110, 200)
    return screen


def desktop_screenshot() -> Image.Image:
    """A menu bar, a tool panel down the left between it and a status bar."""
    screen = Image.new("L", (500, 420), CANVAS)
    draw = ImageDraw.Draw(screen)
    draw.rectangle([0, 0, 500, 22], fill=200)
    draw.text((8, 5), "File Edit View", fill=0)
    draw.rectangle([0, 22, 70, 398], fill=160)
    for top in (40, 90, 140):
        draw.rectangle([20, top, 50, top + 30], fill=40)
    draw.rectangle([0, 398, 500, 420], fill=215)
    draw.text((8, 402), "100%", fill=0)
    seven_on(screen, 300, 150)
    return screen


def canvas_alone() -> Image.Image:
    canvas = Image.new("L", (200, 200), CANVAS)
    seven_on(canvas, 60, 40)
    return canvas


@pytest.mark.parametrize(
    ("screenshot", "rows", "cols"),
    [(phone_screenshot, (80, 450), (0, 300)), (desktop_screenshot, (22, 398), (70, 500))],
    ids=["phone", "desktop"],
)
def test_the_canvas_is_found_inside_the_bars(screenshot, rows, cols) -> None:
    found_rows, found_cols = canvas_box(np.asarray(screenshot(), np.float32))
    assert rows[0] <= found_rows.start <= rows[0] + 4 and rows[1] - 4 <= found_rows.stop <= rows[1]
    assert cols[0] <= found_cols.start <= cols[0] + 4 and cols[1] - 4 <= found_cols.stop <= cols[1]


@pytest.mark.parametrize("screenshot", [phone_screenshot, desktop_screenshot], ids=["phone", "desktop"])
def test_a_screenshot_is_prepared_as_its_canvas_alone(screenshot) -> None:
    expected = image_bytes_to_pixels(encoded(canvas_alone(), "PNG"), MAX_PIXELS)
    assert np.abs(image_bytes_to_pixels(encoded(screenshot(), "PNG"), MAX_PIXELS) - expected).max() < 1


def ruled_page() -> Image.Image:
    """Lines across the page every 40 pixels, the digit crossing some of them."""
    page = Image.new("L", (300, 400), 245)
    draw = ImageDraw.Draw(page)
    for top in range(20, 400, 40):
        draw.rectangle([0, top, 300, top + 1], fill=180)
    seven_on(page, 100, 150)
    return page


def line_under_a_high_digit() -> Image.Image:
    """A form's full-width line under a digit in the top third: the smaller part holds the digit."""
    page = Image.new("L", (300, 450), 250)
    ImageDraw.Draw(page).rectangle([0, 150, 300, 153], fill=20)
    seven_on(page, 100, 15)
    return page


def shadowed_page() -> Image.Image:
    """A photo's shadow: the page darkens by 100 grey levels from top to bottom."""
    levels = np.linspace(240, 140, 400)[:, np.newaxis].repeat(300, axis=1)
    page = Image.fromarray(levels.astype(np.uint8))
    seven_on(page, 100, 120)
    return page


def tightly_cropped_seven() -> Image.Image:
    """A "7" cropped to its ink: its bar spans the image's width, its stem runs on below it."""
    digit = Image.new("L", (200, 260), 255)
    draw = ImageDraw.Draw(digit)
    draw.rectangle([0, 0, 200, 24], fill=0)
    draw.line([(188, 12), (90, 260)], fill=0, width=24)
    return digit


def tightly_cropped_one() -> Image.Image:
    """A bold "1" drawn with a solid brush, cropped to its ink and its flag."""
    digit = Image.new("L", (160, 400), 255)
    draw = ImageDraw.Draw(digit)
    draw.rectangle([60, 0, 130, 400], fill=0)
    draw.polygon([(0, 70), (60, 0), (60, 50)], fill=0)
    return digit


@pytest.mark.parametrize(
    "page",
    [ruled_page, line_under_a_high_digit, shadowed_page, canvas_alone, tightly_cropped_seven],
    ids=["ruled lines", "full-width line", "shadow", "plain page", "tight seven"],
)
def test_pages_without_bars_are_not_cut(page) -> None:
    assert canvas_box(np.asarray(page(), np.float32)) is None


def test_a_tightly_cropped_bold_stroke_is_read_whole() -> None:
    """The stroke's edges span the image and its one level passes for bare ground: the "canvas"
    found is the stroke, which holds no digit, so the image is prepared as if no bars were sought."""
    data = encoded(tightly_cropped_one(), "PNG")
    assert canvas_box(np.asarray(tightly_cropped_one(), np.float32)) is not None
    with mock.patch.object(preprocess, "canvas_box", lambda grey: None):
        without_bars = image_bytes_to_pixels(data, MAX_PIXELS)
    assert np.array_equal(image_bytes_to_pixels(data, MAX_PIXELS), without_bars)
