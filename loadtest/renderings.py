"""MNIST test digits drawn the way users' files hold them, for `loadtest.image_accuracy`.

Dark ink on a white page, scaled up, off-centre, saved as JPEG or PNG, as RGBA on a transparent
canvas, photographed on paper under uneven light, in dim light or through a vignetting lens,
written on ruled notebook or squared paper (photographed straight or askew), in a form's box or
above its line, photographed as a sheet on a desk, cropped tight to the digit, drawn with a fine
pen, or in a screenshot of a drawing app (its bars coloured, or as white as its canvas). Each
rendering takes the 28x28 digit and a random generator, and returns the file's bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from model_contract import IMAGE_SIDE


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def on_page(pixels: np.ndarray, rng: np.random.Generator, format: str) -> bytes:
    """Dark ink on a white page 2-12x the digit's size, at a random place."""
    side = int(rng.integers(56, 336))
    digit = Image.fromarray(255 - pixels).resize((side, side), Image.Resampling.BICUBIC)
    page = Image.new("RGB", (side + int(rng.integers(0, 200)), side + int(rng.integers(0, 200))), "white")
    page.paste(
        digit.convert("RGB"),
        (int(rng.integers(0, page.width - side + 1)), int(rng.integers(0, page.height - side + 1))),
    )
    return encoded(page, format, **({"quality": 85} if format == "JPEG" else {}))


def transparent_canvas(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """Black strokes on a transparent canvas, as a drawing app exports them."""
    side = int(rng.integers(56, 280))
    alpha = Image.fromarray(pixels).resize((side, side), Image.Resampling.BICUBIC)
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    canvas.putalpha(alpha)
    return encoded(canvas, "PNG")


def page_with_digit(
    pixels: np.ndarray, rng: np.random.Generator, draw_page: Callable[[int, int, int], np.ndarray], ink_colour
) -> np.ndarray:
    """The digit, 80-300 px tall, blended in `ink_colour` onto a page 40-300 px larger, at a random
    place; `draw_page(height, width, digit_side)` draws the page, grey or RGB, as floats."""
    side = int(rng.integers(80, 300))
    height, width = side + int(rng.integers(40, 300)), side + int(rng.integers(40, 300))
    page = draw_page(height, width, side)
    ink = np.asarray(Image.fromarray(pixels).resize((side, side), Image.Resampling.BICUBIC), np.float32) / 255
    if page.ndim == 3:
        ink = ink[..., np.newaxis]
    top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    area = page[top : top + side, left : left + side]
    page[top : top + side, left : left + side] = area * (1 - ink) + np.asarray(ink_colour) * ink
    return page


def photographed(pixels: np.ndarray, rng: np.random.Generator, shadow: float) -> bytes:
    """Grey ink on off-white paper lit unevenly: brightness falls by `shadow` grey levels across
    the page in a random direction, with sensor noise and a warm tint, saved as a phone's JPEG."""

    def shadowed_paper(height: int, width: int, digit_side: int) -> np.ndarray:
        angle = rng.uniform(0, 2 * np.pi)
        ys, xs = np.indices((height, width), dtype=np.float32)
        across = np.cos(angle) * xs / width + np.sin(angle) * ys / height
        return 215 - shadow * (across - across.min()) / (across.max() - across.min())

    paper = page_with_digit(pixels, rng, shadowed_paper, ink_colour=60)
    paper += rng.normal(0, 6, paper.shape)
    rgb = np.stack([paper, paper * 0.97, paper * 0.9], axis=-1).clip(0, 255).astype(np.uint8)
    return encoded(Image.fromarray(rgb), "JPEG", quality=70)


def on_ruled_paper(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """Blue ballpoint on a notebook page with light-blue ruled lines, crossing the lines."""

    def ruled_page(height: int, width: int, digit_side: int) -> np.ndarray:
        page = np.full((height, width, 3), (245, 245, 240), np.float32)
        spacing = max(12, digit_side // 3)  # a digit spans about three lines
        for top in range(int(rng.integers(0, spacing)), height, spacing):
            page[top : top + 2] = (160, 185, 235)
        return page

    page = page_with_digit(pixels, rng, ruled_page, ink_colour=(30, 40, 120))
    page += rng.normal(0, 4, page.shape)
    return encoded(Image.fromarray(page.clip(0, 255).astype(np.uint8)), "JPEG", quality=80)


def on_squared_paper(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """Blue ballpoint on squared (or graph) paper whose lines are as dark as a third to two thirds
    of the ink's contrast: darker than a ruled notebook's, so that they pass the ink's threshold."""

    def squared_page(height: int, width: int, digit_side: int) -> np.ndarray:
        page = np.full((height, width, 3), (245, 245, 240), np.float32)
        line = np.array((150, 165, 200), np.float32) + float(rng.uniform(-40, 20))
        spacing, thickness = max(10, digit_side // int(rng.integers(3, 6))), int(rng.integers(1, 3))
        offset = int(rng.integers(0, spacing))
        for at in range(offset, max(height, width), spacing):
            page[at : at + thickness] = line
            page[:, at : at + thickness] = line
        return page

    page = page_with_digit(pixels, rng, squared_page, ink_colour=(30, 40, 120))
    page += rng.normal(0, 4, page.shape)
    return encoded(Image.fromarray(page.clip(0, 255).astype(np.uint8)), "JPEG", quality=80)


def vignetted(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """Dark ink on paper photographed through a lens whose corners fall to 50-65% of the centre's
    brightness (a phone's wide lens close to the page), the light falling off with the square of
    the distance from the centre."""

    def darkened_corners(height: int, width: int, digit_side: int) -> np.ndarray:
        ys, xs = np.indices((height, width), dtype=np.float32)
        # the squared distance from the centre, 2 in the corners
        from_centre = ((xs - width / 2) / (width / 2)) ** 2 + ((ys - height / 2) / (height / 2)) ** 2
        return 235 * (1 - rng.uniform(0.35, 0.5) * from_centre / 2)

    page = page_with_digit(pixels, rng, darkened_corners, ink_colour=25)
    page += rng.normal(0, 4, page.shape)
    return encoded(Image.fromarray(page.clip(0, 255).astype(np.uint8)), "JPEG", quality=85)


def in_dim_light(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """Dark ink on paper photographed in dim light (or grey card): the paper at 70-120 grey levels."""
    paper_level = float(rng.integers(70, 120))
    page = page_with_digit(pixels, rng, lambda height, width, _: np.full((height, width), paper_level), ink_colour=15)
    page += rng.normal(0, 5, page.shape)
    return encoded(Image.fromarray(page.clip(0, 255).astype(np.uint8)), "JPEG", quality=80)


def on_a_form(pixels: np.ndarray, rng: np.random.Generator, boxed: bool) -> bytes:
    """Dark ink on a white form, in a printed box 10-40 px larger than the digit's square, or
    above a printed line a little wider than it, saved as a scanner's JPEG."""
    side, margin, width = int(rng.integers(80, 240)), int(rng.integers(10, 40)), int(rng.integers(2, 6))
    page = Image.new("L", (side + 2 * margin + 40, side + 2 * margin + 40), 255)
    corner = 20 + margin
    page.paste(Image.fromarray(255 - pixels).resize((side, side), Image.Resampling.BICUBIC), (corner, corner))
    draw, far = ImageDraw.Draw(page), corner + side + margin
    if boxed:
        draw.rectangle([(20, 20), (far, far)], outline=0, width=width)
    else:
        draw.line([(corner - margin, far), (far, far)], fill=0, width=width)
    return encoded(page, "JPEG", quality=85)


def sheet_on_a_desk(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone's photo of the sheet lying on a darker desk that frames it on every side."""
    sheet = page_with_digit(pixels, rng, lambda height, width, side: np.full((height, width), 235.0), ink_colour=40)
    height, width = sheet.shape
    top, left = int(rng.integers(20, height // 2)), int(rng.integers(20, width // 2))
    desk = np.full((height + 2 * top, width + 2 * left), float(rng.integers(40, 120)))
    desk[top : top + height, left : left + width] = sheet
    desk += rng.normal(0, 5, desk.shape)
    return encoded(Image.fromarray(desk.clip(0, 255).astype(np.uint8)), "JPEG", quality=80)


def tightly_cropped(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """Dark on white, cropped to the digit's ink and scaled 1.5-18x: strokes reach the image's
    edges, as when a user crops a photo or a drawing to the digit."""
    rows, cols = np.flatnonzero((pixels > 40).any(axis=1)), np.flatnonzero((pixels > 40).any(axis=0))
    crop = 255 - pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = rng.uniform(1.5, 18)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    return encoded(Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC), "PNG")


def fine_pen(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """The digit traced along its middle with a 1-4 pixel pen, 280-670 pixels tall: a paint
    program's pencil on a large canvas. (The middle: where the scaled-up stroke is deepest.)"""
    scale, pen = int(rng.integers(10, 25)), int(rng.integers(1, 5))
    side = IMAGE_SIDE * scale
    stroke = np.asarray(Image.fromarray(pixels).resize((side, side), Image.Resampling.BICUBIC)) > 127
    depth = ndimage.distance_transform_edt(stroke)
    middle = (depth >= ndimage.maximum_filter(depth, size=3) - 0.6) & (depth > 1)
    line = ndimage.binary_dilation(middle, iterations=pen // 2) if pen > 1 else middle
    return encoded(Image.fromarray(np.where(line, 0, 255).astype(np.uint8)), "PNG")


def white_screen(rng: np.random.Generator, desktop_aspect: tuple[float, float]) -> tuple[bool, Image.Image]:
    """A white screen, a phone's (portrait, 360-720 pixels wide) or a desktop's (landscape, its
    height over its width drawn from `desktop_aspect`), and whether it is a phone's."""
    phone = bool(rng.integers(0, 2))
    width = int(rng.integers(360, 720))
    height = int(width * (rng.uniform(1.8, 2.2) if phone else rng.uniform(*desktop_aspect)))
    return phone, Image.new("RGB", (width, height), "white")


def app_screenshot(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """A screenshot of a drawing app: the digit drawn in black on its white canvas, around which a
    phone's status bar (the time, a battery), the app's coloured toolbar with icons and a
    navigation bar, or on a desktop a menu bar, a tool panel on the left and a status bar."""
    phone, screen = white_screen(rng, desktop_aspect=(0.6, 0.8))
    width, height = screen.size
    draw = ImageDraw.Draw(screen)
    bar_colour = tuple(int(level) for level in rng.integers(0, 256, 3))
    # The status bar ends at `top`; the toolbar (a phone's, across) or the tool panel (a desktop's,
    # down the left) at `bar_end`; the navigation or status bar starts at `bottom`.
    top, bar_end, bottom = (
        (int(0.04 * height), int(0.12 * height), height - int(0.08 * height))
        if phone
        else (int(0.05 * height), int(0.12 * width), height - int(0.05 * height))
    )
    status_dark = bool(rng.integers(0, 2))
    draw.rectangle([0, 0, width, top], fill="black" if status_dark else (248, 248, 248))
    draw.text((12, top // 4), "12:45", fill="white" if status_dark else "black")
    draw.rectangle([width - 50, top // 3, width - 20, 2 * top // 3], fill="white" if status_dark else "black")
    draw.rectangle([0, bottom, width, height], fill=(235, 235, 235))
    draw.rectangle([0, top, width, bar_end] if phone else [0, top, bar_end, bottom], fill=bar_colour)
    for index in range(4):  # icons: on the toolbar under the status bar, or down the tool panel
        x, y = (20 + 60 * index, top + 10) if phone else (bar_end // 4, top + 20 + 50 * index)
        draw.rectangle([x, y, x + 30, y + 30], fill="white")
        draw.ellipse(
            [width // 5 * (index + 1) - 12, bottom + 8, width // 5 * (index + 1) + 12, bottom + 32], fill=(90, 90, 90)
        )
    canvas_top = bar_end if phone else top
    side = int(rng.integers(80, min(300, bottom - canvas_top - 10, width - (0 if phone else bar_end) - 10)))
    x = int(rng.integers(0 if phone else bar_end, width - side))
    y = int(rng.integers(canvas_top, bottom - side))
    digit = Image.fromarray(255 - pixels).resize((side, side), Image.Resampling.BICUBIC)
    screen.paste(digit.convert("RGB"), (x, y))
    return encoded(screen, "PNG")


def light_app_screenshot(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """A screenshot of a drawing app in light mode, where nothing but the marks on them sets the
    bars apart from the white canvas: on a phone the time and battery, the note's title and outline
    icons above, a palette of pens and the home indicator below; in a browser's whiteboard a
    floating toolbar at the top and zoom buttons in a bottom corner."""
    phone, screen = white_screen(rng, desktop_aspect=(0.55, 0.75))
    width, height = screen.size
    draw = ImageDraw.Draw(screen)
    accent = tuple(int(level) for level in rng.integers(0, 200, 3))
    text = max(10, height // 60)
    icons = [(x, text, 2 * text) for x in range(width // 3, 2 * width // 3, 3 * text)]  # (left, top, side)
    if phone:
        draw.text((text, text // 2), "9:41", fill="black", font_size=text)
        draw.rectangle([width - 3 * text, text // 2, width - text, text + text // 2], outline="black", width=2)
        draw.text((text, 3 * text), "< Notes", fill=accent, font_size=text)
        icons = [(width - x, 3 * text, text) for x in range(2 * text, 8 * text, 2 * text)]
        icons += [(x, height - 4 * text, 2 * text) for x in range(width // 4, 3 * width // 4, 3 * text)]
        draw.rounded_rectangle([width // 3, height - text, 2 * width // 3, height - text + 5], 3, fill="black")
    else:
        draw.text((text, height - 2 * text), "- 100% +", fill="black", font_size=text)
    for left, top, side in icons:
        draw.rounded_rectangle([left, top, left + side, top + side], side // 4, outline=accent, width=2)
    side = int(rng.integers(80, min(300, height // 2)))
    x, y = int(rng.integers(0, width - side)), int(rng.integers(height // 4, 3 * height // 4 - side // 2))
    screen.paste(Image.fromarray(255 - pixels).resize((side, side), Image.Resampling.BICUBIC).convert("RGB"), (x, y))
    return encoded(screen, "PNG")


def askew_on_lined_paper(pixels: np.ndarray, rng: np.random.Generator) -> bytes:
    """Squared or ruled paper, as above, photographed turned by 1-5 degrees either way."""
    paper = on_squared_paper if rng.random() < 0.5 else on_ruled_paper
    page = Image.open(io.BytesIO(paper(pixels, rng)))
    degrees = float(rng.uniform(1, 5) * rng.choice([-1, 1]))
    turned = page.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=(245, 245, 240))
    return encoded(turned, "JPEG", quality=85)


RENDERINGS: dict[str, Callable[[np.ndarray, np.random.Generator], bytes]] = {
    "MNIST-style 28x28 PNG": lambda pixels, rng: encoded(Image.fromarray(pixels), "PNG"),
    "28x28 PNG on a dark grey canvas (40)": lambda pixels, rng: encoded(
        Image.fromarray((40 + pixels * (215 / 255)).astype(np.uint8)), "PNG"
    ),
    "dark on white page, JPEG": lambda pixels, rng: on_page(pixels, rng, "JPEG"),
    "dark on white page, PNG": lambda pixels, rng: on_page(pixels, rng, "PNG"),
    "black on transparent, RGBA PNG": transparent_canvas,
    "photo of paper, even light, JPEG": lambda pixels, rng: photographed(pixels, rng, shadow=0),
    "photo of paper, shadow of 80 grey levels, JPEG": lambda pixels, rng: photographed(pixels, rng, shadow=80),
    "photo of paper, shadow of 120 grey levels, JPEG": lambda pixels, rng: photographed(pixels, rng, shadow=120),
    "blue pen on ruled notebook paper, JPEG": on_ruled_paper,
    "in a form's printed box, JPEG": lambda pixels, rng: on_a_form(pixels, rng, boxed=True),
    "above a form's printed line, JPEG": lambda pixels, rng: on_a_form(pixels, rng, boxed=False),
    "photo of a sheet on a darker desk, JPEG": sheet_on_a_desk,
    "photo in dim light, paper at 70-120 grey levels, JPEG": in_dim_light,
    "cropped tight to the digit, PNG": tightly_cropped,
    "drawn with a fine pen (1-4 px) on a large canvas, PNG": fine_pen,
    "screenshot of a drawing app, phone or desktop, PNG": app_screenshot,
    "screenshot of a drawing app in light mode (white bars), PNG": light_app_screenshot,
    "blue pen on squared paper with darker lines, JPEG": on_squared_paper,
    "squared or ruled paper photographed 1-5 degrees askew, JPEG": askew_on_lined_paper,
    "photo with lens vignetting, corners at 50-65% of the centre's brightness, JPEG": vignetted,
}
