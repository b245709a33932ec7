"""The drawn non-digits: every family draws something, framed as MNIST framed its digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model_contract import IMAGE_SIDE
from training.non_digits import (
    CANVAS,
    DIGIT_BOX,
    SYMBOL_FONTS,
    TRAINING_FONT_PACKAGES,
    drawn,
    fonts_from,
    measuring_families,
    mnist_frame,
    non_digit_images,
)


def test_every_family_draws_ink_on_the_canvas() -> None:
    families = measuring_families(fonts_from(TRAINING_FONT_PACKAGES))
    drawings, names = drawn(families, count=4 * len(families), seed=3)
    assert sorted(set(names)) == sorted(families)
    for ink, name in zip(drawings, names, strict=True):
        assert ink.shape == (CANVAS, CANVAS) and ink.dtype == np.float32, name
        assert 0 <= ink.min() and ink.max() <= 1, name
        assert (ink > 0.5).sum() >= 20, f"{name} drew almost nothing"


def test_frame_fits_the_ink_into_20_pixels_and_centres_it_by_mass() -> None:
    ink = np.zeros((CANVAS, CANVAS), dtype=np.float32)
    ink[5:45, 70:80] = 1.0  # a tall bar in a corner
    frame = mnist_frame(ink)
    assert frame.shape == (IMAGE_SIDE, IMAGE_SIDE) and frame.dtype == np.uint8
    rows = np.flatnonzero(frame.max(axis=1) > 0)
    assert rows[-1] - rows[0] + 1 == DIGIT_BOX
    ys, xs = np.indices(frame.shape)
    mass = frame.astype(float).sum()
    assert abs((ys * frame).sum() / mass - 13.5) <= 1 and abs((xs * frame).sum() / mass - 13.5) <= 1
    assert not mnist_frame(np.zeros_like(ink)).any()


def test_same_seed_same_images_and_no_fonts_still_draws_letters() -> None:
    fonts = fonts_from(TRAINING_FONT_PACKAGES)
    first, again = non_digit_images(12, seed=5, fonts=fonts), non_digit_images(12, seed=5, fonts=fonts)
    assert first.shape == (12, IMAGE_SIDE, IMAGE_SIDE) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, non_digit_images(12, seed=6, fonts=fonts))
    without_fonts = non_digit_images(5, seed=5, fonts=[])  # Pillow's own font, as in a bare container
    assert (without_fonts.reshape(5, -1).max(axis=1) > 0).all()


def test_fonts_are_found_by_package_and_symbol_fonts_left_out(tmp_path: Path) -> None:
    for name in ("truetype/dejavu/DejaVuSans.ttf", "truetype/dejavu/DejaVuMathTeXGyre.ttf", "opentype/urw/X.otf"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    assert [path.name for path in fonts_from(["dejavu"], tmp_path)] == ["DejaVuSans.ttf"]
    assert "DejaVuMathTeXGyre" in SYMBOL_FONTS
