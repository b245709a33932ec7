"""What is the page and which side is ink: a sheet of paper photographed on a darker desk is the
page (light digits on dark canvases are not sheets), and dark ink on dim paper is dark ink."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from loadtest.renderings import encoded
from service.paper_sheet import sheet_of_paper
from service.preprocess import dark_ink, image_bytes_to_pixels

DESK, PAPER, INK = 70, 235, 30


def seven_on(canvas: Image.Image, box: tuple[int, int, int, int], colour: int) -> None:
    left, top, right, bottom = box
    ImageDraw.Draw(canvas).line([(left, top), (right, top), ((left + right) // 2, bottom)], fill=colour, width=12)


def sheet_on_desk() -> Image.Image:
    photo = Image.new("L", (400, 300), DESK)
    ImageDraw.Draw(photo).rectangle([(100, 50), (300, 250)], fill=PAPER)
    seven_on(photo, (160, 90, 240, 210), INK)
    return photo


def test_the_sheet_is_found_and_trimmed_to_the_paper() -> None:
    rows, cols = sheet_of_paper(np.asarray(sheet_on_desk(), np.float32), DESK)
    assert 50 < rows.start < 60 and 240 < rows.stop < 251
    assert 100 < cols.start < 110 and 290 < cols.stop < 301


@pytest.mark.parametrize(
    "draw",
    [
        lambda d: d.ellipse([(60, 20), (340, 280)], outline=255, width=60),  # a bold "0" filling the canvas
        lambda d: (
            d.ellipse([(110, 10), (290, 150)], outline=255, width=50),  # a bold "8"
            d.ellipse([(100, 140), (300, 295)], outline=255, width=50),
        ),
        lambda d: d.rectangle([(100, 50), (300, 250)], fill=255),  # a light square with nothing in it
        lambda d: d.line([(100, 60), (300, 60), (200, 260)], fill=255, width=20),  # a "7", light on dark
    ],
    ids=["bold zero", "bold eight", "empty square", "seven"],
)
def test_light_shapes_on_dark_are_not_sheets(draw) -> None:
    canvas = Image.new("L", (400, 300), 0)
    draw(ImageDraw.Draw(canvas))
    assert sheet_of_paper(np.asarray(canvas, np.float32), 0) is None


def test_a_photo_of_a_sheet_on_a_desk_is_prepared_as_the_sheet_alone() -> None:
    sheet_alone = Image.new("L", (200, 200), PAPER)
    seven_on(sheet_alone, (60, 40, 140, 160), INK)
    expected = image_bytes_to_pixels(encoded(sheet_alone, "PNG"), 4_000_000)
    assert np.abs(image_bytes_to_pixels(encoded(sheet_on_desk(), "PNG"), 4_000_000) - expected).max() < 1


@pytest.mark.parametrize(
    ("background", "ink", "is_dark"),
    [(255, 0, True), (90, 15, True), (140, 255, False), (0, 255, False), (60, 230, False)],
    ids=["white page", "dim paper", "white on mid-grey", "MNIST", "chalk"],
)
def test_the_ink_is_the_side_the_image_reaches_furthest(background: int, ink: int, is_dark: bool) -> None:
    grey = np.random.default_rng(0).normal(background, 5, (120, 100)).clip(0, 255).astype(np.float32)
    grey[30:90, 45:55] = ink
    assert dark_ink(grey, float(background)) is is_dark


def test_dark_ink_on_dim_paper_is_prepared_as_on_white() -> None:
    """An underexposed photo: the paper at 90 grey levels, darker than mid-grey, is still the paper."""
    pages = []
    for paper in (90, 255):
        page = Image.new("L", (200, 200), paper)
        seven_on(page, (60, 40, 140, 160), INK)
        pages.append(image_bytes_to_pixels(encoded(page, "PNG"), 4_000_000))
    assert np.abs(pages[0] - pages[1]).mean() < 5
