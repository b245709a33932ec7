"""Images that are not digits: to teach the net to say "not sure", and to measure whether it does.

A net trained on digits alone gives a confident digit for anything: a letter, a scribble, noise.
Outlier exposure (Hendrycks, Mazeika and Dietterich, 2019) adds such images to training with the
uniform distribution as their target, so the net learns to spread its probability over the ten
digits when it sees no digit, and a confidence threshold then flags them.

Each family draws white ink on a black canvas four times MNIST's size (`CANVAS`). Training frames
the drawing as MNIST framed its digits (`mnist_frame`); the measurement in `loadtest.not_a_digit`
prints it dark on a white page and sends it through the service's own preprocessing instead.
Letters that people also read as digits (O, l, S, Z, B, g, ...) are in no family: flagging them
would teach the net to doubt real digits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from model_contract import IMAGE_SIDE, PIXEL_MAX

CANVAS = 4 * IMAGE_SIDE
DIGIT_BOX = 20  # MNIST fitted each digit into 20x20 pixels of its 28x28 field
LETTERS_UNLIKE_DIGITS = "AEFHKMNPRVWXaefhkmnprvwx"
SYMBOLS = "@#%&?*=<>"  # no "!": people read it as a 1
# Letters of other scripts: only for measuring, so the measurement holds shapes training never saw.
FOREIGN_LETTERS = "ΓΔΘΛΞΠΣΦΨΩγδζθλξπψωБГДЖИЛФЦШЩЫЭЮЯбгджфш"
FONT_FOLDER = Path("/usr/share/fonts")
# Debian font packages: training draws with the first group, the measurement with the second only.
TRAINING_FONT_PACKAGES = ("dejavu", "liberation", "freefont")
MEASURING_FONT_PACKAGES = ("urw-base35",)
SYMBOL_FONTS = ("D050000L", "StandardSymbolsPS", "DejaVuMathTeXGyre")  # letters drawn as pictures

Drawing = Callable[[np.random.Generator], np.ndarray]


def fonts_from(packages: Sequence[str], folder: Path = FONT_FOLDER) -> list[Path]:
    """The TrueType and OpenType fonts of these Debian packages that draw letters as letters."""
    return sorted(
        path
        for package in packages
        for pattern in ("*.ttf", "*.otf")
        for path in folder.glob(f"*/{package}/{pattern}")
        if path.stem not in SYMBOL_FONTS
    )


def _font(fonts: Sequence[Path], rng: np.random.Generator, size: int) -> ImageFont.FreeTypeFont:
    """One of the fonts, or Pillow's own where none is installed (a bare container)."""
    if not fonts:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), size)


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("L", (CANVAS, CANVAS), 0)
    return image, ImageDraw.Draw(image)


def _as_ink(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / PIXEL_MAX


def characters(text: str, fonts: Sequence[Path]) -> Drawing:
    """One character of `text` in a random font, size and slant."""

    def draw(rng: np.random.Generator) -> np.ndarray:
        image, pen = _canvas()
        font = _font(fonts, rng, int(rng.integers(60, 90)))
        pen.text((CANVAS / 2, CANVAS / 2), str(rng.choice(list(text))), fill=PIXEL_MAX, font=font, anchor="mm")
        return _as_ink(image.rotate(float(rng.uniform(-15, 15)), resample=Image.Resampling.BILINEAR))

    return draw


def _stroke_width(rng: np.random.Generator) -> int:
    return int(rng.integers(5, 14))


def scribble(rng: np.random.Generator) -> np.ndarray:
    """Two to five tangled pen strokes, each a smooth curve through random points."""
    image, pen = _canvas()
    for _ in range(int(rng.integers(2, 6))):
        points = rng.uniform(8, CANVAS - 8, size=(int(rng.integers(3, 7)), 2))
        steps = np.linspace(0, len(points) - 1, 60)
        curve = np.stack([np.interp(steps, np.arange(len(points)), points[:, axis]) for axis in (0, 1)], axis=1)
        smooth = np.stack([np.convolve(curve[:, axis], np.ones(9) / 9, mode="valid") for axis in (0, 1)], axis=1)
        pen.line([tuple(point) for point in smooth], fill=PIXEL_MAX, width=_stroke_width(rng), joint="curve")
    return _as_ink(image)


def shape(rng: np.random.Generator) -> np.ndarray:
    """A filled shape, a star, a crossed box, a grid or a zigzag: nothing a digit is drawn as."""
    image, pen = _canvas()
    width = _stroke_width(rng)
    low, high = rng.uniform(8, 30), rng.uniform(CANVAS - 30, CANVAS - 8)
    kind = int(rng.integers(6))
    if kind == 0:
        pen.ellipse((low, low, high, high * rng.uniform(0.6, 1.0)), fill=PIXEL_MAX)
    elif kind == 1:
        corners = rng.uniform(8, CANVAS - 8, size=(int(rng.integers(3, 6)), 2))
        pen.polygon([tuple(point) for point in corners], fill=PIXEL_MAX)
    elif kind == 2:
        points = int(rng.integers(5, 9))
        angles = np.linspace(0, 2 * np.pi, 2 * points, endpoint=False) + rng.uniform(0, np.pi)
        radii = np.where(np.arange(2 * points) % 2 == 0, CANVAS * 0.45, CANVAS * rng.uniform(0.15, 0.25))
        star = np.stack([CANVAS / 2 + radii * np.cos(angles), CANVAS / 2 + radii * np.sin(angles)], axis=1)
        pen.polygon([tuple(point) for point in star], outline=PIXEL_MAX, width=width)
    elif kind == 3:
        pen.rectangle((low, low, high, high), outline=PIXEL_MAX, width=width)
        pen.line((low, low, high, high), fill=PIXEL_MAX, width=width)
        pen.line((low, high, high, low), fill=PIXEL_MAX, width=width)
    elif kind == 4:
        for position in np.linspace(low, high, int(rng.integers(3, 6))):
            pen.line((position, low, position, high), fill=PIXEL_MAX, width=width)
            pen.line((low, position, high, position), fill=PIXEL_MAX, width=width)
    else:
        teeth = int(rng.integers(4, 8))
        xs = np.linspace(low, high, 2 * teeth + 1)
        ys = np.where(np.arange(2 * teeth + 1) % 2 == 0, low + 20, high - 20)
        pen.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=PIXEL_MAX, width=width, joint="curve")
    return _as_ink(image)


def noise(rng: np.random.Generator) -> np.ndarray:
    """Grain, blotches or speckle over much of the canvas."""
    field = rng.uniform(0, 1, size=(CANVAS // 4, CANVAS // 4)).astype(np.float32)
    image = Image.fromarray(field * PIXEL_MAX).convert("L").resize((CANVAS, CANVAS), Image.Resampling.BICUBIC)
    kind = int(rng.integers(3))
    if kind == 1:  # blotches: smooth noise, thresholded
        blurred = np.asarray(image.filter(ImageFilter.GaussianBlur(6)), dtype=np.float32)
        return (blurred > np.percentile(blurred, rng.uniform(50, 80))).astype(np.float32)
    if kind == 2:  # speckle: sparse dots
        return (rng.uniform(0, 1, size=(CANVAS, CANVAS)) > rng.uniform(0.9, 0.98)).astype(np.float32)
    return _as_ink(image)


def training_families(fonts: Sequence[Path]) -> dict[str, Drawing]:
    """What training adds: letters unlike digits and symbols in the training fonts, scribbles,
    shapes and noise."""
    return {
        "letters": characters(LETTERS_UNLIKE_DIGITS, fonts),
        "symbols": characters(SYMBOLS, fonts),
        "scribbles": scribble,
        "shapes": shape,
        "noise": noise,
    }


def measuring_families(fonts: Sequence[Path]) -> dict[str, Drawing]:
    """What the measurement sends: the training families in other fonts, and letters of other
    scripts that training never drew."""
    return {**training_families(fonts), "other scripts": characters(FOREIGN_LETTERS, fonts)}


def mnist_frame(ink: np.ndarray) -> np.ndarray:
    """A drawing -> 28x28 uint8 as MNIST framed its digits: cropped to its ink, fitted into 20x20,
    centred by mass."""
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.1), np.flatnonzero(ink.max(axis=0) > 0.1)
    if len(rows) == 0:
        return np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    cropped = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = DIGIT_BOX / max(cropped.shape)
    size = (max(1, round(cropped.shape[1] * scale)), max(1, round(cropped.shape[0] * scale)))
    fitted = np.asarray(Image.fromarray(cropped * PIXEL_MAX, mode="F").resize(size, Image.Resampling.LANCZOS))
    fitted = np.clip(fitted, 0, PIXEL_MAX)
    ys, xs = np.indices(fitted.shape)
    total = max(float(fitted.sum()), 1e-6)
    centre = (IMAGE_SIDE - 1) / 2
    top = int(np.clip(round(centre - (ys * fitted).sum() / total), 0, IMAGE_SIDE - fitted.shape[0]))
    left = int(np.clip(round(centre - (xs * fitted).sum() / total), 0, IMAGE_SIDE - fitted.shape[1]))
    field = np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    field[top : top + fitted.shape[0], left : left + fitted.shape[1]] = fitted
    return np.rint(field).astype(np.uint8)


def drawn(families: dict[str, Drawing], count: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """`count` drawings, the families taking turns, and the family of each."""
    rng = np.random.default_rng(seed)
    names = [list(families)[index % len(families)] for index in range(count)]
    return [families[name](rng) for name in names], names


def non_digit_images(count: int, seed: int, fonts: Sequence[Path]) -> np.ndarray:
    """`count` non-digits of the training families, MNIST-framed: (count, 28, 28) uint8."""
    drawings, _ = drawn(training_families(fonts), count, seed)
    return np.stack([mnist_frame(ink) for ink in drawings]) if drawings else np.zeros((0, IMAGE_SIDE, IMAGE_SIDE))
