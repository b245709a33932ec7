"""Image preprocessing on its own: MNIST placement rules and every refusal."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageDraw

from service.invalid_input import InvalidInput
from service.preprocess import (
    centre_by_mass,
    check_request_pixels,
    decode_grayscale,
    image_bytes_to_pixels,
    open_image,
    to_mnist_layout,
)
from service.settings import DEFAULT_MAX_IMAGE_PIXELS

MAX_PIXELS = DEFAULT_MAX_IMAGE_PIXELS


def encode(image: Image.Image, format: str = "PNG", **options) -> bytes:
    """The image as a file in `format`. HEIF is written by pillow-heif without registering it with
    Pillow, so what reads the file is the service's own opener (pi-heif, which cannot write)."""
    buffer = io.BytesIO()
    if format == "HEIF":
        pillow_heif.from_pillow(image).save(buffer, **options)
    else:
        image.save(buffer, format=format, **options)
    return buffer.getvalue()


def large_off_centre_seven() -> Image.Image:
    """A thick dark '7' drawn 120 px tall in the top-left part of a white 300x200 RGB canvas."""
    canvas = Image.new("RGB", (300, 200), "white")
    draw = ImageDraw.Draw(canvas)
    draw.line([(30, 20), (110, 20)], fill="black", width=12)
    draw.line([(110, 20), (60, 140)], fill="black", width=12)
    return canvas


def ink_box(pixels: np.ndarray, threshold: float = 30) -> tuple[int, int]:
    rows = np.flatnonzero((pixels > threshold).any(axis=1))
    cols = np.flatnonzero((pixels > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def centre_of_mass(pixels: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(pixels.shape)
    return (ys * pixels).sum() / pixels.sum(), (xs * pixels).sum() / pixels.sum()


@pytest.mark.parametrize("format", ["PNG", "JPEG", "WEBP", "AVIF", "HEIF"])
def test_large_off_centre_digit_follows_mnist_placement(format: str) -> None:
    pixels = image_bytes_to_pixels(encode(large_off_centre_seven(), format), MAX_PIXELS)
    assert pixels.shape == (28, 28) and pixels.dtype == np.float32
    height, width = ink_box(pixels)
    assert max(height, width) in (19, 20, 21)  # longer side scaled to the 20-pixel box
    assert height > width  # aspect ratio kept: the seven is taller than wide
    mass_y, mass_x = centre_of_mass(pixels)
    assert abs(mass_y - 14) <= 1 and abs(mass_x - 14) <= 1
    assert pixels[0].max() == 0 and pixels[:, 0].max() == 0  # dark background, light ink
    assert pixels.max() > 200


@pytest.mark.parametrize("ink_is_dark", [True, False])
def test_unevenly_lit_page_is_cropped_to_the_digit_not_the_shadow(ink_is_dark: bool) -> None:
    """A photo whose lighting falls by 120 grey levels across the page, with sensor noise."""
    rng = np.random.default_rng(3)
    ys, xs = np.indices((240, 320), dtype=np.float32)
    page = 215 - 120 * (xs / 319 + ys / 239) / 2 + rng.normal(0, 6, (240, 320))
    page[60:180, 150:166] = 60  # a "1": one stroke 120 px tall, far from every edge
    if not ink_is_dark:
        page = 255 - page  # chalk on a dark board
    pixels = image_bytes_to_pixels(encode(Image.fromarray(page.clip(0, 255).astype(np.uint8)), "JPEG"), MAX_PIXELS)
    height, width = ink_box(pixels, threshold=60)
    assert height in (19, 20, 21) and width <= 5
    mass_y, mass_x = centre_of_mass(pixels)
    assert abs(mass_y - 14) <= 1 and abs(mass_x - 14) <= 1


def test_single_pixel_specks_do_not_stretch_the_crop() -> None:
    page = np.full((200, 200), 255, np.uint8)
    page[50:150, 95:105] = 0  # a "1"
    page[5, 5] = page[190, 195] = 0  # dust in two corners
    pixels = image_bytes_to_pixels(encode(Image.fromarray(page)), MAX_PIXELS)
    height, width = ink_box(pixels)
    assert height in (19, 20, 21) and width <= 4


def test_ruled_lines_of_a_notebook_are_not_part_of_the_digit() -> None:
    page = np.full((240, 320, 3), (245, 245, 240), np.uint8)
    page[10::30] = page[11::30] = (160, 185, 235)  # light-blue ruled lines across the whole page
    page[60:180, 150:164] = (30, 40, 120)  # a "1" in blue ballpoint, crossing four lines
    pixels = image_bytes_to_pixels(encode(Image.fromarray(page)), MAX_PIXELS)
    height, width = ink_box(pixels)
    assert height in (19, 20, 21) and width <= 4


def test_digit_drawn_with_a_one_pixel_pen_is_still_found() -> None:
    page = np.full((100, 100), 255, np.uint8)
    page[20:80, 50] = 0  # a "1" one pixel wide: nothing survives the speck filter, so the ink is used
    pixels = image_bytes_to_pixels(encode(Image.fromarray(page)), MAX_PIXELS)
    height, width = ink_box(pixels)
    assert height in (19, 20, 21) and width <= 3


def test_mnist_style_image_passes_unchanged() -> None:
    digit = np.zeros((28, 28), np.uint8)
    digit[5:23, 12:16] = 255
    digit[5:8, 8:20] = 180
    pixels = image_bytes_to_pixels(encode(Image.fromarray(digit)), MAX_PIXELS)
    np.testing.assert_array_equal(pixels, digit.astype(np.float32))


def test_28x28_digit_on_dark_grey_is_prepared_not_passed_through() -> None:
    digit = np.full((28, 28), 40, np.uint8)  # a drawing canvas's dark grey, not MNIST's black
    digit[6:22, 13:16] = 230
    pixels = image_bytes_to_pixels(encode(Image.fromarray(digit)), MAX_PIXELS)
    assert pixels[0].max() == 0 and pixels[:, 0].max() == 0  # the grey is taken out
    height, width = ink_box(pixels)
    assert height in (19, 20, 21) and width <= 5  # cropped and scaled like any other image


def test_drawing_on_transparent_canvas_keeps_its_strokes() -> None:
    canvas = Image.new("RGBA", (200, 200), (0, 0, 0, 0))  # transparent black background
    ImageDraw.Draw(canvas).line([(100, 30), (100, 170)], fill=(0, 0, 0, 255), width=14)
    pixels = image_bytes_to_pixels(encode(canvas), MAX_PIXELS)
    height, width = ink_box(pixels)
    assert height >= 19 and width <= 6  # a vertical stroke: a "1"


def test_sixteen_bit_grayscale_is_scaled_not_clipped() -> None:
    digit = np.zeros((60, 60), np.uint16)
    digit[10:50, 25:35] = 60000
    grey = decode_grayscale(Image.open(io.BytesIO(encode(Image.fromarray(digit)))))
    assert 250 <= grey.max() <= 255


def test_gif_uses_its_first_frame() -> None:
    first = Image.new("L", (40, 40), 255)
    ImageDraw.Draw(first).rectangle([18, 5, 22, 35], fill=0)
    second = Image.new("L", (40, 40), 255)
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=[second])
    pixels = image_bytes_to_pixels(buffer.getvalue(), MAX_PIXELS)
    assert pixels.max() > 200


def test_blank_image_has_no_digit() -> None:
    with pytest.raises(InvalidInput, match="no digit found") as caught:
        image_bytes_to_pixels(encode(Image.new("RGB", (100, 80), "white")), MAX_PIXELS)
    assert caught.value.status == 422


def test_bytes_that_are_not_an_image() -> None:
    with pytest.raises(InvalidInput, match="not an image") as caught:
        open_image(b"this is plain text, not a picture", MAX_PIXELS)
    assert caught.value.status == 415


def test_truncated_png_is_refused_cleanly() -> None:
    data = encode(large_off_centre_seven())
    with pytest.raises(InvalidInput, match="truncated or corrupt"):
        image_bytes_to_pixels(data[: len(data) // 2], MAX_PIXELS)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size; the data is a few bytes. A decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [20_000, 100_000])
def test_decompression_bomb_rejected_from_header(side: int) -> None:
    with pytest.raises(InvalidInput, match="pixels|too large") as caught:
        open_image(png_header_only(side, side), MAX_PIXELS)
    assert caught.value.status == 413


def test_centre_by_mass_puts_the_mass_at_the_centre() -> None:
    digit = np.zeros((10, 6), np.float32)
    digit[:, :2] = 1.0  # mass on the left edge
    field = centre_by_mass(digit)
    mass_y, mass_x = centre_of_mass(field)
    assert abs(mass_y - 14) <= 0.5 and abs(mass_x - 14) <= 0.5


def test_wide_digit_keeps_aspect_ratio() -> None:
    grey = np.full((100, 300), 255.0, np.float32)
    grey[40:60, 20:280] = 0  # a long dark bar
    height, width = ink_box(to_mnist_layout(grey))
    assert width in (19, 20, 21) and height <= 3


@pytest.mark.parametrize("format", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "AVIF", "HEIF"])
def test_corrupted_files_are_refused_never_crash(format: str) -> None:
    """Truncations and random byte flips: either a 28x28 result or InvalidInput, nothing else."""
    import random

    data = encode(large_off_centre_seven().convert("RGB" if format != "GIF" else "P"), format)
    rng = random.Random(format)
    variants = [data[: len(data) // 2], data[:20]]
    for _ in range(30):
        flipped = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        variants.append(bytes(flipped))
    for variant in variants:
        try:
            pixels = image_bytes_to_pixels(variant, MAX_PIXELS)
        except InvalidInput as refusal:
            assert str(refusal) == str(refusal).strip() and "\n" not in str(refusal)  # one clean line
            continue
        assert pixels.shape == (28, 28) and np.isfinite(pixels).all()
        assert 0 <= pixels.min() and pixels.max() <= 255.001


@pytest.mark.parametrize("mode", ["1", "L", "P", "LA", "RGBA", "CMYK", "LAB", "YCbCr", "I", "F", "I;16"])
def test_every_common_pixel_mode_is_read(mode: str) -> None:
    seven = large_off_centre_seven()
    image = Image.fromarray(np.asarray(seven.convert("L"), np.uint16) * 257) if mode == "I;16" else seven.convert(mode)
    pixels = image_bytes_to_pixels(encode(image, "TIFF"), MAX_PIXELS)
    height, width = ink_box(pixels)
    assert max(height, width) in (19, 20, 21)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_floating_point_image_with_non_finite_pixels_is_refused(value: float) -> None:
    levels = np.zeros((40, 40), np.float32)
    levels[10:30, 18:22] = value
    with pytest.raises(InvalidInput, match="NaN or infinite") as caught:
        image_bytes_to_pixels(encode(Image.fromarray(levels, mode="F"), "TIFF"), MAX_PIXELS)
    assert caught.value.status == 400


def test_floating_point_image_outside_0_255_is_stretched() -> None:
    levels = np.full((40, 40), -3000.0, np.float32)
    levels[8:32, 18:22] = 5000.0  # a bright vertical stroke on a negative background: a "1"
    pixels = image_bytes_to_pixels(encode(Image.fromarray(levels, mode="F"), "TIFF"), MAX_PIXELS)
    height, width = ink_box(pixels)
    assert height >= 19 and width <= 6
    assert pixels.min() == 0 and 250 <= pixels.max() <= 255


@pytest.mark.parametrize("mode", ["F", "I"])
def test_image_levels_within_0_1_are_read_as_0_1_scale(mode: str) -> None:
    """A floating-point TIFF scaled to 0-1 (or a 0/1 bitmap) is a digit, not a blank page."""
    seven = np.asarray(large_off_centre_seven().convert("L"), np.float32)
    scaled = Image.fromarray((seven / 255 if mode == "F" else (seven > 127)).astype(np.float32), mode="F")
    pixels = image_bytes_to_pixels(encode(scaled.convert(mode), "TIFF"), MAX_PIXELS)
    reference = image_bytes_to_pixels(encode(large_off_centre_seven(), "PNG"), MAX_PIXELS)
    assert pixels.max() >= 250
    assert ink_box(pixels) == ink_box(reference)


@pytest.mark.parametrize(("format", "orientation"), [("JPEG", 3), ("JPEG", 6), ("JPEG", 8), ("HEIF", 6)])
def test_exif_rotation_is_applied_to_large_photos(format: str, orientation: int) -> None:
    """Big images are reduced before their EXIF rotation: the result must equal rotating first.
    (A HEIC file's rotation is applied by libheif as it decodes, its EXIF tag then reset.)"""
    upright = large_off_centre_seven().resize((1800, 1200))
    rotate = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
    stored = upright.transpose(rotate[orientation])  # as a camera stores it before its EXIF tag
    exif = Image.Exif()
    exif[0x0112] = orientation
    as_shot = image_bytes_to_pixels(encode(stored, format, quality=95, exif=exif.tobytes()), MAX_PIXELS)
    expected = image_bytes_to_pixels(encode(upright, format, quality=95), MAX_PIXELS)
    assert np.abs(as_shot - expected).mean() < 4  # the same digit, up to JPEG and resampling noise
    assert np.abs(as_shot - np.rot90(expected)).mean() > 4 * np.abs(as_shot - expected).mean()


def test_request_pixel_budget_counts_every_image_from_its_header() -> None:
    images = [open_image(encode(Image.new("L", (1000, 1000))), MAX_PIXELS) for _ in range(3)]
    check_request_pixels(images, 3_000_000)
    with pytest.raises(InvalidInput, match="3,000,000 pixels together") as refused:
        check_request_pixels(images, 2_999_999)
    assert refused.value.status == 413
