"""A ruled or squared page photographed askew: its tilt found, and the page turned straight."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from loadtest.renderings import encoded
from service.page_tilt import page_tilt, turned
from service.preprocess import image_bytes_to_pixels
from tests.test_form_lines import MAX_PIXELS, seven_on_squared_paper

PAPER = 250


def ink_of(page: Image.Image) -> tuple[np.ndarray, float]:
    """Dark ink on white paper as the preparation hands it on: how far below the paper, and its
    contrast (the digit's)."""
    ink = np.clip(PAPER - np.asarray(page, np.float32), 0, None)
    return ink, float(ink.max())


def askew(page: Image.Image, degrees: float) -> Image.Image:
    return page.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=PAPER)


def seven_on_lined_paper_sideways() -> Image.Image:
    """A "7" on a ruled page photographed sideways: the lines run down the image."""
    page = Image.new("L", (300, 260), PAPER)
    draw = ImageDraw.Draw(page)
    for at in range(12, 300, 22):
        draw.line([(at, 0), (at, 260)], fill=150, width=2)
    draw.line([(110, 60), (190, 60), (140, 200)], fill=20, width=14)
    return page


@pytest.mark.parametrize("degrees", [-5.0, -1.5, 2.0, 4.0])
def test_the_tilt_of_squared_paper_is_found_to_a_fifth_of_a_degree(degrees: float) -> None:
    tilt = page_tilt(*ink_of(askew(seven_on_squared_paper(140), degrees)))
    assert abs(tilt + degrees) <= 0.2


@pytest.mark.parametrize("degrees", [-3.0, 2.5])
def test_lines_running_down_the_image_are_turned_the_other_way_round(degrees: float) -> None:
    tilt = page_tilt(*ink_of(askew(seven_on_lined_paper_sideways(), degrees)))
    assert abs(tilt + degrees) <= 0.2


@pytest.mark.parametrize(
    "page",
    [seven_on_squared_paper(None, noise=6.0), seven_on_squared_paper(140), seven_on_lined_paper_sideways()],
    ids=["plain page", "squared page, straight", "ruled page, straight"],
)
def test_pages_without_lines_or_square_to_the_image_are_not_turned(page: Image.Image) -> None:
    assert page_tilt(*ink_of(page)) == 0.0


def test_turning_keeps_the_ink_and_its_centre() -> None:
    ink = np.zeros((200, 200), np.float32)
    ink[60:140, 95:105] = 200.0
    turned_ink = turned(ink, 3.0)
    assert turned_ink.shape == ink.shape and abs(turned_ink.sum() / ink.sum() - 1) < 0.01
    rows, cols = np.nonzero(turned_ink > 100)
    assert abs(rows.mean() - 99.5) < 1 and abs(cols.mean() - 99.5) < 1
    assert cols.max() - cols.min() > 10  # the bar leans: it spans more columns than its width


@pytest.mark.parametrize("degrees", [-3.0, 2.0])
def test_a_digit_on_squared_paper_photographed_askew_is_prepared_as_on_a_plain_page(degrees: float) -> None:
    plain = image_bytes_to_pixels(encoded(seven_on_squared_paper(None), "PNG"), MAX_PIXELS)
    squared = image_bytes_to_pixels(encoded(askew(seven_on_squared_paper(140), degrees), "PNG"), MAX_PIXELS)
    assert np.abs(squared - plain).mean() < 6  # turned twice: the strokes' edges resampled
