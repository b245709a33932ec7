"""Image files in, 28x28 float32 MNIST-style pixels out.

Pure functions on NumPy arrays and PIL images, so every rule here is testable without a server;
pixel arrays sent as JSON or `.npy` are checked by `service.pixel_arrays`.
Images are prepared the way MNIST itself was made: grayscale, light ink on a dark background,
cropped to the ink, scaled to fit 20x20 keeping the aspect ratio, and placed in a 28x28 field so
that the centre of mass of the ink sits at the centre.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

from model_contract import IMAGE_SIDE, PIXEL_MAX
from service.form_lines import form_line_pixels
from service.heif_images import HEIF_FORMAT
from service.ink_marks import (
    INK_THRESHOLD,
    MIN_INK_CONTRAST,
    drawn_wide_enough,
    without_edge_marks,
    without_specks,
)
from service.invalid_input import InvalidInput
from service.page_tilt import page_tilt, turned
from service.paper_sheet import reduced_copy, sheet_of_paper
from service.pixel_arrays import border_frame
from service.screen_bars import canvas_box
from service.stroke_width import with_mnist_stroke_width

DIGIT_BOX = 20  # MNIST scaled each digit to fit a 20x20 box ...
FIELD_CENTRE = IMAGE_SIDE / 2  # ... and put its centre of mass here (measured on MNIST: 14.0, 14.0)
BORDER_FRACTION = 0.05  # the outer 5% of an image tells the background's brightness
CLEAR_SIDE = 2.0  # the ink's side reaches this many times further from the background than the other
MNIST_BORDER_MAX = 16.0  # MNIST's own border is 0; allow for JPEG noise, not for a grey background
WORKING_SIDE = 512  # big images are reduced to about this before the pixel maths
BACKGROUND_GRID = 64  # the lighting of the page is fitted on a copy at most this many pixels across
PAPER_FIT_ROUNDS = 5  # fit, drop the pixels that look like ink, fit again
MIN_INK_STEP = 8.0  # grey levels beyond the fitted paper that always count as ink, however clean the page
# AVIF: what browsers and Android export; HEIF (HEIC): what iPhones save photos in
ALLOWED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "AVIF", HEIF_FORMAT, "TIFF")


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """Open image bytes, refusing unknown formats and oversized images from the header alone."""
    if not data:
        raise InvalidInput("the uploaded file is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as error:
        raise InvalidInput(f"image too large to decode safely: {error}", status=413) from error
    except Image.UnidentifiedImageError as error:
        raise InvalidInput(
            f"the file is not an image in a supported format ({', '.join(ALLOWED_FORMATS)})",
            status=415,
        ) from error
    except Exception as error:  # Pillow's parsers raise many types on hostile headers
        raise InvalidInput(f"the image header is corrupt ({_decoder_error(error)})") from error
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise InvalidInput(
            f"image is {width}x{height} = {width * height:,} pixels, more than the limit of "
            f"{max_pixels:,}: scale it down before sending",
            status=413,
        )
    return image


def decode_grayscale(image: Image.Image) -> np.ndarray:
    """First frame as a float32 array of 0-255 grey levels, rotated as its EXIF says.

    Transparent pixels take the colour opposite to the ink, so a drawing on a transparent
    canvas keeps its strokes whatever colour they were drawn in.
    """
    try:
        image.seek(0)
        if image.format == "JPEG":
            image.draft("L", (WORKING_SIDE, WORKING_SIDE))  # decode big JPEGs at a reduced scale
        if image.mode.startswith("I;16"):
            image = image.convert("I")
        elif image.mode == "LAB":  # Pillow cannot convert LAB to grey; its L channel is the lightness
            image = image.getchannel("L")
        # reduce before the rotation copies the full-size image; the box is square, so reducing
        # first and rotating after gives the same pixels as the other way round
        image.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.BOX)
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I", "F"):
            return stretch_to_grey_levels(np.asarray(image, dtype=np.float32))
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        if not has_alpha:
            return np.asarray(image.convert("L"), dtype=np.float32)
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
    except InvalidInput:
        raise
    except Exception as error:  # truncated data surfaces here, as any of Pillow's error types
        raise InvalidInput(f"the image data is truncated or corrupt ({_decoder_error(error)})") from error
    grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    alpha = rgba[..., 3] / PIXEL_MAX
    opaque = alpha > 0.5
    ink_is_dark = opaque.any() and float(grey[opaque].mean()) < PIXEL_MAX / 2
    background = PIXEL_MAX if ink_is_dark else 0.0
    return grey * alpha + background * (1 - alpha)


def _decoder_error(error: Exception) -> str:
    """A decoder's error in one line, for the 400's text (libheif ends its messages with a newline)."""
    return f"{type(error).__name__}: {str(error).strip()}"


def stretch_to_grey_levels(levels: np.ndarray) -> np.ndarray:
    """16-bit, 32-bit or floating-point pixels onto 0-255.

    Levels within 0-1 are floating-point images' usual scale (or a 0/1 bitmap) and are multiplied
    by 255; other levels within 0-255 are kept; any other range (a 16-bit scan, negative floats
    from a scientific TIFF) is stretched linearly from its minimum to its maximum, since only the
    contrast between ink and background matters. NaN and infinity have no grey level: refused.
    """
    if not np.isfinite(levels).all():
        raise InvalidInput("the image holds NaN or infinite pixel values; pixels must be finite numbers")
    low, high = float(levels.min()), float(levels.max())
    if low >= 0 and high <= 1:
        return levels * PIXEL_MAX
    if low >= 0 and high <= PIXEL_MAX:
        return levels
    if high == low:
        return np.zeros_like(levels)
    return np.clip((levels - low) * (PIXEL_MAX / (high - low)), 0, PIXEL_MAX)  # clip: float rounding


def looks_like_mnist(grey: np.ndarray, border_level: float) -> bool:
    """28x28 on a black background: already in MNIST's form, so it passes through unchanged.

    Only black: a 28x28 digit on dark grey (a drawing canvas's background of 40, say) goes through
    the full preparation, which takes the background out; passed through as it was, the model read
    such digits right 15% of the time.
    """
    return grey.shape == (IMAGE_SIDE, IMAGE_SIDE) and border_level <= MNIST_BORDER_MAX


def _border_level(grey: np.ndarray) -> float:
    """Median grey level of the image's outer frame: the background's brightness."""
    height, width = grey.shape
    band_y, band_x = max(1, int(height * BORDER_FRACTION)), max(1, int(width * BORDER_FRACTION))
    return float(np.median(border_frame(grey, band_y, band_x)))


def dark_ink(grey: np.ndarray, border_level: float) -> bool:
    """Is the ink darker than the background? The side on which the image reaches much further
    from its border's level, else the border's own brightness.

    The border alone read every page darker than mid-grey as light ink on a dark background: of
    2,000 MNIST test digits in dark ink on dim paper (an underexposed photo, grey card; paper at
    70-120 grey levels), 5% were read right (`python -m loadtest.image_accuracy`; 99.35% now).
    Extremes are taken on a 3x3 average, so that single noisy pixels do not count.
    """
    smoothed = ndimage.uniform_filter(grey, size=3)
    dark_reach, light_reach = border_level - float(smoothed.min()), float(smoothed.max()) - border_level
    if dark_reach > CLEAR_SIDE * light_reach:
        return True
    if light_reach > CLEAR_SIDE * dark_reach:
        return False
    return border_level >= PIXEL_MAX / 2


def lit_paper(grey: np.ndarray, ink_is_dark: bool) -> np.ndarray:
    """The background's grey level at every pixel: a plane fitted to the pixels that are not ink.

    Photos of paper are lit unevenly; subtracting one background level turns the shadowed side of
    the page into "ink" and the crop takes in the whole page (photos with a shadow of 80 grey levels
    across the page: 11% right instead of 98%, results/image_accuracy.md). The fit runs on a copy at most
    BACKGROUND_GRID pixels across; each round drops the pixels that lie far on the ink side of the
    plane and fits again. A plane, not a curved surface: a curve bends under a large digit and
    eats into its strokes.
    """
    height, width = grey.shape
    small = reduced_copy(grey, BACKGROUND_GRID)
    sample = small.ravel()
    across, down = np.meshgrid(_centred_coordinates(small.shape[1]), _centred_coordinates(small.shape[0]))
    terms = np.stack([np.ones_like(across), across, down], axis=-1).reshape(-1, 3)
    ink_sign = -1.0 if ink_is_dark else 1.0
    paper = np.ones(sample.size, dtype=bool)
    for _ in range(PAPER_FIT_ROUNDS):
        coefficients = np.linalg.lstsq(terms[paper], sample[paper], rcond=None)[0]
        towards_ink = ink_sign * (sample - terms @ coefficients)
        kept = towards_ink[paper]
        spread = 1.4826 * float(np.median(np.abs(kept - np.median(kept))))  # robust standard deviation
        paper = towards_ink < max(3 * spread, MIN_INK_STEP)
    level, slope_across, slope_down = coefficients.astype(np.float32)
    across, down = _centred_coordinates(width), _centred_coordinates(height)
    return level + slope_across * across[np.newaxis, :] + slope_down * down[:, np.newaxis]


def _centred_coordinates(pixels: int) -> np.ndarray:
    """Pixel centres along one axis, from about -0.5 to 0.5 whatever the axis's length."""
    return (np.arange(pixels, dtype=np.float32) + 0.5) / pixels - 0.5


def to_mnist_layout(grey: np.ndarray) -> np.ndarray:
    """Any grey image of one digit -> 28x28 light-on-dark, fitted to 20x20, centred by mass."""
    grey = np.asarray(grey, dtype=np.float32)
    border_level = _border_level(grey)
    if looks_like_mnist(grey, border_level):
        return grey
    ink_is_dark = dark_ink(grey, border_level)
    # The page inside the picture: a sheet of paper photographed on a darker desk (read at first as
    # light ink, the desk being the border), or a drawing app's canvas inside the app's bars. A
    # "page" of one level is a bold stroke of a tightly cropped digit instead, and stays part of it.
    page = canvas_box(grey) if ink_is_dark else sheet_of_paper(grey, border_level)
    if page is not None and float(np.ptp(grey[page])) >= MIN_INK_CONTRAST:
        grey = grey[page]
        ink_is_dark = dark_ink(grey, _border_level(grey))
    paper = lit_paper(grey, ink_is_dark)
    ink = np.clip(paper - grey, 0, None) if ink_is_dark else np.clip(grey - paper, 0, None)
    strokes = without_specks(ink)
    if not drawn_wide_enough(ink, strokes):  # a drawing with a one-pixel pen: its lines are the digit
        strokes = ink
    contrast = float(strokes.max())
    if contrast < MIN_INK_CONTRAST:
        raise InvalidInput("no digit found: the image is blank or has too little contrast", status=422)
    tilt = page_tilt(ink, contrast)
    if tilt:  # a ruled page photographed askew: turned so that its lines run square to the image
        ink, strokes = turned(ink, tilt), turned(strokes, tilt)
    digit = strokes >= INK_THRESHOLD * contrast
    stray = form_line_pixels(digit, ink, contrast)
    if stray is not None:  # the digit's own contrast sets its threshold, not a bolder printed box's
        ink, strokes = np.where(stray, 0, ink), np.where(stray, 0, strokes)
        contrast = float(strokes.max())
        digit = strokes >= INK_THRESHOLD * contrast
    digit = without_edge_marks(digit)
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    cropped = np.clip(ink[box] * (PIXEL_MAX / contrast), 0, PIXEL_MAX)
    # measured on all the ink in the crop: the speck filter breaks a fine pen's diagonals off
    cropped = with_mnist_stroke_width(cropped, cropped >= INK_THRESHOLD * PIXEL_MAX)
    height, width = cropped.shape
    scale = DIGIT_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    fitted = np.asarray(Image.fromarray(cropped, mode="F").resize(size, Image.Resampling.LANCZOS))
    return centre_by_mass(np.clip(fitted, 0, PIXEL_MAX))


def centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Place a digit (at most 28x28) in a 28x28 field with its centre of mass at the centre."""
    field = np.zeros((IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    height, width = digit.shape
    total = float(digit.sum())
    if total <= 0:
        raise InvalidInput("no digit found: the image is blank or has too little contrast", status=422)
    ys, xs = np.indices(digit.shape)
    mass_y = float((ys * digit).sum()) / total
    mass_x = float((xs * digit).sum()) / total
    top = int(round(FIELD_CENTRE - mass_y))
    left = int(round(FIELD_CENTRE - mass_x))
    top = min(max(top, 0), IMAGE_SIDE - height)  # keep the whole digit inside the field
    left = min(max(left, 0), IMAGE_SIDE - width)
    field[top : top + height, left : left + width] = digit
    return field


def check_request_pixels(images: list[Image.Image], max_request_pixels: int) -> None:
    """Refuse a request whose images together hold more pixels than one request may decode.

    Each image alone is within the per-image limit, but 64 of them in one request (64 copies of a
    169 KB PNG of 40 million pixels) took 39 s of CPU to decode. Read from the headers: nothing is
    decoded yet.
    """
    total = sum(image.width * image.height for image in images)
    if total > max_request_pixels:
        raise InvalidInput(
            f"the {len(images)} images hold {total:,} pixels together, more than the limit of "
            f"{max_request_pixels:,} per request: send fewer or smaller images",
            status=413,
        )


def prepare_image(image: Image.Image) -> np.ndarray:
    """An opened image -> a 28x28 float32 array ready for the model."""
    return to_mnist_layout(decode_grayscale(image))


def image_bytes_to_pixels(data: bytes, max_pixels: int) -> np.ndarray:
    """One image file's bytes -> a 28x28 float32 array ready for the model."""
    return prepare_image(open_image(data, max_pixels))
