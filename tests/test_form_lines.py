"""Frames and rules around a digit are told apart from the digit's own strokes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from loadtest.renderings import encoded
from service.form_lines import form_line_pixels, page_rule_pixels
from service.preprocess import image_bytes_to_pixels

MAX_PIXELS = 4_000_000


def drawn(*shapes: tuple[str, list, int], size: tuple[int, int] = (200, 200)) -> np.ndarray:
    """An ink mask with lines, rectangles and ellipses drawn on it: (kind, coordinates, width)."""
    canvas = Image.new("1", size, 0)
    draw = ImageDraw.Draw(canvas)
    for kind, coordinates, width in shapes:
        if kind == "line":
            draw.line(coordinates, fill=1, width=width, joint="curve")
        else:
            {"rectangle": draw.rectangle, "ellipse": draw.ellipse}[kind](coordinates, outline=1, width=width)
    return np.asarray(canvas, dtype=bool)


def as_ink(mask: np.ndarray) -> tuple[np.ndarray, float]:
    """A mask's ink, all at the digit's contrast: every line passes the faint lines' threshold."""
    return mask.astype(np.float32), 1.0


SEVEN = ("line", [(70, 60), (130, 60), (95, 150)], 8)


@pytest.mark.parametrize(
    "stray",
    [
        ("rectangle", [(10, 10), (190, 190)], 4),  # the form's box
        ("line", [(10, 10), (190, 10), (190, 190)], 4),  # a box's corner, two of its sides
        ("line", [(20, 175), (180, 175)], 4),  # an underline, wider than the digit
        ("line", [(20, 20), (20, 190)], 3),  # a box's side cut off by the photo, beside the digit
    ],
    ids=["box", "corner", "underline", "side"],
)
def test_frames_and_rules_are_found_and_the_digit_kept(stray) -> None:
    digit_alone = drawn(SEVEN)
    found = form_line_pixels(drawn(SEVEN, stray), *as_ink(drawn(SEVEN, stray)))
    assert found is not None
    assert not (found & digit_alone).any()
    assert (found | digit_alone).sum() >= drawn(SEVEN, stray).sum()


def test_a_thin_one_in_a_box_with_more_ink_than_it_is_found() -> None:
    one = ("line", [(100, 50), (95, 150)], 4)
    framed = drawn(one, ("rectangle", [(10, 10), (190, 190)], 5))
    found = form_line_pixels(framed, *as_ink(framed))
    assert found is not None and not (found & drawn(one)).any()


@pytest.mark.parametrize(
    "shapes",
    [
        [SEVEN],  # one piece: the digit, whatever its shape
        [("ellipse", [(50, 20), (150, 180)], 8), ("line", [(95, 95), (105, 105)], 4)],  # a "0" with a mark inside
        # a "9": flat top and straight stem, with fragments of a faint ruled line inside its loop
        [
            ("rectangle", [(60, 20), (140, 90)], 8),
            ("line", [(136, 20), (136, 180)], 8),
            ("line", [(80, 55), (88, 55)], 2),
        ],
        [("line", [(100, 20), (100, 180)], 6), ("line", [(60, 100), (64, 100)], 3)],  # a "1" beside a speck
        # a "5" written in two strokes: its flag above, narrower than its body
        [("line", [(80, 30), (140, 30)], 6), ("line", [(80, 30), (80, 90), (140, 110), (120, 170), (60, 160)], 6)],
        # a "4" whose stem does not touch its first stroke: the stem is no taller than the rest
        [("line", [(70, 20), (50, 110), (120, 110)], 6), ("line", [(130, 40), (130, 170)], 6)],
    ],
    ids=["lone piece", "zero with a mark", "nine with fragments", "one beside a speck", "five", "four"],
)
def test_digits_in_several_pieces_are_left_whole(shapes) -> None:
    assert form_line_pixels(drawn(*shapes), *as_ink(drawn(*shapes))) is None


def test_a_digit_written_in_a_form_box_is_prepared_as_without_the_box() -> None:
    page = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(page).line([(110, 80), (190, 80), (140, 220)], fill=0, width=14)
    boxed = page.copy()
    ImageDraw.Draw(boxed).rectangle([(20, 20), (280, 280)], outline=0, width=5)
    alone = image_bytes_to_pixels(encoded(page, "PNG"), MAX_PIXELS)
    in_box = image_bytes_to_pixels(encoded(boxed, "PNG"), MAX_PIXELS)
    assert np.abs(in_box - alone).max() < 1


def test_a_texture_of_many_pieces_is_left_as_it_is() -> None:
    """A grid of dots (or noise) is not a digit in a form, and its pieces are not compared pairwise."""
    dots = np.zeros((200, 200), dtype=bool)
    dots[::6, ::6] = True
    framed = dots | drawn(("rectangle", [(0, 0), (199, 199)], 3))
    assert form_line_pixels(framed, *as_ink(framed)) is None


def seven_on_squared_paper(line_level: int | None, noise: float = 0.0) -> Image.Image:
    """A "7" on a page of 5 mm squares whose lines are `line_level` grey (None: a plain page), with
    a photo's noise of `noise` grey levels."""
    page = Image.new("L", (300, 300), 250)
    draw = ImageDraw.Draw(page)
    if line_level is not None:
        for at in range(10, 300, 24):
            draw.line([(0, at), (300, at)], fill=line_level, width=2)
            draw.line([(at, 0), (at, 300)], fill=line_level, width=2)
    draw.line([(110, 80), (190, 80), (140, 220)], fill=20, width=14)
    noisy = np.asarray(page, np.float32) + np.random.default_rng(0).normal(0, noise, (300, 300))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


@pytest.mark.parametrize(
    ("line_level", "noise"),
    [(140, 0.0), (165, 6.0)],
    ids=["dark lines: one piece with the digit", "lines at the ink's threshold: read unevenly"],
)
def test_a_digit_on_squared_paper_is_prepared_as_on_a_plain_page(line_level: int, noise: float) -> None:
    plain = image_bytes_to_pixels(encoded(seven_on_squared_paper(None, noise), "PNG"), MAX_PIXELS)
    squared = image_bytes_to_pixels(encoded(seven_on_squared_paper(line_level, noise), "PNG"), MAX_PIXELS)
    assert np.abs(squared - plain).mean() < 4  # where the lines crossed the strokes, gaps of a pixel


def test_the_lines_of_a_ruled_page_are_found_with_a_pixel_either_side() -> None:
    page = np.zeros((200, 200), dtype=bool)
    page[[40, 80, 120, 160]] = True
    found = page_rule_pixels(page | drawn(SEVEN), *as_ink(page | drawn(SEVEN)))
    assert found is not None and found.any(axis=1).sum() == 12 and found[[39, 41, 159, 161]].all()


def test_a_tightly_cropped_seven_with_a_bar_across_is_not_a_ruled_page() -> None:
    seven = np.zeros((200, 150), dtype=bool)
    seven[0:3] = True  # a fine pen's bar across the crop
    seven[3:, 140:143] = True
    assert page_rule_pixels(seven, *as_ink(seven)) is None
