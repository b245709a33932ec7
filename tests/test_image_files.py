"""Integration: image files through a real `bentoml serve`, answered as the in-process preparation
and model answer them, whatever their format, label or number."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from service.preprocess import image_bytes_to_pixels
from tests.test_preprocess import encode
from tests.test_service import png, post

pytestmark = pytest.mark.integration


def on_white_canvas_jpeg(pixels: np.ndarray) -> bytes:
    """An MNIST digit as a user would photograph it: dark ink, large, off-centre, white RGB page."""
    digit = Image.fromarray(255 - pixels.astype(np.uint8)).resize((150, 150), Image.Resampling.BICUBIC)
    page = Image.new("RGB", (300, 200), "white")
    page.paste(digit.convert("RGB"), (130, 30))
    buffer = io.BytesIO()
    page.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def test_mnist_style_png_equals_array_prediction(server: str, reference, digit_images) -> None:
    images = digit_images
    for pixels in images[:5]:
        answer = post(server, "/predict_image", files={"image": ("d.png", png(pixels), "image/png")}).json()
        np.testing.assert_allclose(
            answer["probabilities"], reference.probabilities(pixels[None].astype(np.float32))[0], atol=1e-5
        )


def test_photographed_style_jpegs_get_the_in_process_answer(server: str, reference, digit_images) -> None:
    """Dark ink on a white page, large and off-centre: the service prepares it as preprocess does."""
    images = digit_images
    jpegs = [on_white_canvas_jpeg(images[i]) for i in range(8)]
    files = [("images", (f"{i}.jpg", jpeg, "image/jpeg")) for i, jpeg in enumerate(jpegs)]
    answers = post(server, "/predict_images", files=files).json()
    expected = reference.probabilities(np.stack([image_bytes_to_pixels(jpeg, 4_000_000) for jpeg in jpegs]))
    np.testing.assert_allclose([a["probabilities"] for a in answers], expected, atol=1e-5)


@pytest.mark.parametrize("content_type", ["image/heic", "application/octet-stream"])
def test_iphone_heic_photos_get_the_in_process_answer(server: str, reference, digit_images, content_type: str) -> None:
    """iPhones save photos as HEIC; curl labels a .heic file image/heic, other clients octet-stream."""
    photos = [
        encode(Image.open(io.BytesIO(on_white_canvas_jpeg(pixels))), "HEIF", quality=80) for pixels in digit_images[:3]
    ]
    files = [("images", (f"IMG_000{i}.HEIC", photo, content_type)) for i, photo in enumerate(photos)]
    response = post(server, "/predict_images", files=files)
    assert response.status_code == 200, response.text
    expected = reference.probabilities(np.stack([image_bytes_to_pixels(photo, 4_000_000) for photo in photos]))
    np.testing.assert_allclose([a["probabilities"] for a in response.json()], expected, atol=1e-5)


@pytest.mark.parametrize("content_type", ["application/octet-stream", "image/webp", None])
def test_image_files_are_known_by_their_bytes_not_their_label(
    server: str, reference, digit_images, content_type: str | None
) -> None:
    """curl labels .webp, .bmp, .tif and extensionless files application/octet-stream."""
    images = digit_images
    upload = ("digit", png(images[0])) if content_type is None else ("digit", png(images[0]), content_type)
    response = post(server, "/predict_image", files={"image": upload})
    assert response.status_code == 200, response.text
    assert response.json()["digit"] == reference.probabilities(images[:1].astype(np.float32)).argmax()


def test_predict_images_keeps_file_order(server: str, reference, digit_images) -> None:
    images = digit_images
    files = [("images", (f"{i}.png", png(images[i]), "image/png")) for i in range(6)]
    answers = post(server, "/predict_images", files=files).json()
    assert [a["digit"] for a in answers] == reference.probabilities(images[:6].astype(np.float32)).argmax(1).tolist()


def test_concurrent_image_uploads_all_succeed(server: str, reference, digit_images) -> None:
    """Under concurrency every upload gets its own correct answer (BentoML's self-proxy did not)."""
    images = digit_images
    expected = reference.probabilities(images[:100].astype(np.float32)).argmax(axis=1)

    def upload(index: int) -> int:
        response = post(server, "/predict_image", files={"image": ("d.png", png(images[index]), "image/png")})
        response.raise_for_status()
        return response.json()["digit"]

    with ThreadPoolExecutor(max_workers=32) as pool:
        digits = list(pool.map(upload, range(100)))
    assert digits == expected.tolist()
