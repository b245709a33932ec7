"""Integration: a real `bentoml serve` process on a free loopback port, every endpoint, every refusal."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

import model_contract as contract
from local_servers import PROJECT_ROOT, free_port
from service import off_loop
from tests.conftest import TEST_SERVER_ENV, assert_answered_apart_and_batched

pytestmark = pytest.mark.integration
CONCURRENT_REQUESTS = 200


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def post(url: str, route: str, **kwargs) -> httpx.Response:
    return httpx.post(f"{url}{route}", timeout=60, **kwargs)


def test_predict_matches_in_process_model(server: str, reference, digit_images) -> None:
    images = digit_images
    expected = reference.probabilities(images[:5].astype(np.float32))
    response = post(server, "/predict", json={"images": images[:5].tolist()})
    assert response.status_code == 200, response.text
    answers = response.json()
    assert [a["digit"] for a in answers] == expected.argmax(axis=1).tolist()
    for answer, row in zip(answers, expected, strict=True):
        assert len(answer["probabilities"]) == 10
        assert sum(answer["probabilities"]) == pytest.approx(1, abs=1e-4)
        np.testing.assert_allclose(answer["probabilities"], row, atol=1e-5)
        assert answer["confidence"] == pytest.approx(max(row), abs=1e-5)


def test_answers_below_the_models_threshold_are_flagged_unsure(server: str, reference, digit_images) -> None:
    info = post(server, "/model_info").json()
    assert info["calibration"] == {} and info["unsure_below"] == contract.UNCALIBRATED_UNSURE_BELOW
    images = digit_images[:60]
    confidences = reference.probabilities(images.astype(np.float32)).max(axis=1)
    answers = post(server, "/predict", json={"images": images.tolist()}).json()
    assert [a["unsure"] for a in answers] == (confidences < info["unsure_below"]).tolist()


def test_the_largest_json_requests_get_the_in_process_answers(server: str, reference, digit_images) -> None:
    images = digit_images[: int(TEST_SERVER_ENV["MNIST_MAX_IMAGES_PER_REQUEST"])]
    body = json.dumps({"images": images.tolist()}).encode()
    assert len(body) >= off_loop.OFF_LOOP_BYTES  # parsed in the worker thread, not on the event loop
    response = post(server, "/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    probabilities = [answer["probabilities"] for answer in response.json()]
    np.testing.assert_allclose(probabilities, reference.probabilities(images.astype(np.float32)), atol=1e-5)


@pytest.mark.parametrize("layout", [(3, 784), (3, 28, 28, 1)], ids=["flat rows", "keras channel axis"])
def test_predict_accepts_other_layouts_and_floats(server: str, reference, digit_images, layout) -> None:
    images = digit_images
    reshaped = (images[:3].reshape(layout) / 1.0).tolist()
    answers = post(server, "/predict", json={"images": reshaped}).json()
    assert [a["digit"] for a in answers] == reference.probabilities(images[:3].astype(np.float32)).argmax(1).tolist()


def test_python_client_predicts_png_and_array(server: str, reference, digit_images, tmp_path: Path) -> None:
    import bentoml

    images = digit_images
    expected = reference.probabilities(images[:2].astype(np.float32)).argmax(axis=1)
    (tmp_path / "digit.png").write_bytes(png(images[0]))
    with bentoml.SyncHTTPClient(server) as client:
        assert client.predict_image(image=tmp_path / "digit.png")["digit"] == expected[0]
        assert [a["digit"] for a in client.predict(images=images[:2].tolist())] == expected.tolist()


def test_predict_npy(server: str, reference, digit_images) -> None:
    images = digit_images
    buffer = io.BytesIO()
    np.save(buffer, images[:50])
    response = post(
        server, "/predict_npy", files={"array": ("batch.npy", buffer.getvalue(), "application/octet-stream")}
    )
    assert response.status_code == 200, response.text
    expected = reference.probabilities(images[:50].astype(np.float32)).argmax(axis=1)
    assert [a["digit"] for a in response.json()] == expected.tolist()


def test_model_info(server: str, tiny_model: str) -> None:
    info = post(server, "/model_info").json()
    assert info["tag"] == tiny_model
    assert info["architecture"] == "tiny_test_net"
    assert info["runtime"].startswith("openvino ") and info["device"] == "CPU"  # this machine has no GPU
    assert info["precision"] == "f32" or info["precision_check"]["passed"]  # bf16 only after its check
    assert info["input_format"]["shape"] == [28, 28]
    assert info["limits"]["max_images_per_request"] == 64
    assert httpx.get(f"{server}/model_info").json() == info  # read-only: GET answers too
    assert httpx.get(f"{server}/predict").status_code == 405  # the others stay POST only


def test_bentoml_health_metrics_and_docs_stay(server: str) -> None:
    for route in ("/healthz", "/livez", "/readyz"):
        assert httpx.get(f"{server}{route}").status_code == 200
    post(server, "/predict", json={"images": [[[0] * 28] * 28]})
    assert "bentoml_service_request" in httpx.get(f"{server}/metrics").text
    paths = httpx.get(f"{server}/docs.json").json()["paths"]
    for route in ("/predict", "/predict_image", "/predict_images", "/predict_npy", "/model_info"):
        assert route in paths


def json_with_nan() -> str:
    rows = ["[" + ",".join(["NaN"] + ["0"] * 27) + "]"] + ["[" + ",".join(["0"] * 28) + "]"] * 27
    return '{"images": [[' + ",".join(rows) + "]]}"


def object_npy() -> bytes:
    """A .npy holding a pickled Python object: the server must refuse it without unpickling."""
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"pickled": True}], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def too_many_pixels_png() -> bytes:
    return png(np.zeros((2100, 2100), np.uint8))


BAD_REQUESTS = [
    ("/predict", {"json": {"images": [[1, 2, 3]]}}, 400, "shape"),
    ("/predict", {"json": {"images": []}}, 400, "empty"),
    ("/predict", {"json": {"images": [[["x"] * 28] * 28]}}, 400, "numbers 0-255"),
    ("/predict", {"json": {"images": [[[True] * 28] * 28]}}, 400, "numbers 0-255"),
    ("/predict", {"json": {"pictures": [[[0] * 28] * 28]}}, 400, "images: field required"),
    ("/predict", {"content": json_with_nan()}, 400, ""),
    ("/predict", {"json": {"images": [[[300] * 28] * 28]}}, 400, "within 0-255"),
    ("/predict", {"json": {"images": [[[0.5] * 28] * 28]}}, 422, "multiply images scaled to 0-1"),
    ("/predict", {"json": {"images": [[[250] * 28] * 28]}}, 422, "dark on a light background"),
    ("/predict", {"json": {"images": [[[0] * 28] * 28] * 65}}, 413, "split the request"),
    ("/predict", {"json": {"images": [[0] * 784] * 65}}, 413, "split the request"),
    ("/predict", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, ""),
    (
        "/predict",
        {"content": b"\x80\x04K\x01.", "headers": {"content-type": "application/vnd.bentoml+pickle"}},
        415,
        "pickle",
    ),
    (
        "/predict",
        {"content": b"0" * (5 << 20), "headers": {"content-type": "application/json"}},
        413,
        "larger than the limit",
    ),
    ("/predict_image", {"files": {"image": ("x.png", b"hello, not an image", "image/png")}}, 415, "not an image"),
    ("/predict_image", {"files": {"image": ("x.png", png(np.full((50, 50), 255))[:-30], "image/png")}}, 400, ""),
    ("/predict_image", {"files": {"image": ("x.png", too_many_pixels_png(), "image/png")}}, 413, "more than the limit"),
    ("/predict_image", {"files": {"image": ("x.png", png(np.full((50, 50), 255)), "image/png")}}, 422, "no digit"),
    (
        "/predict_image",
        {"data": {"image": "http://127.0.0.1:1/digit.png"}, "files": {"image": ("a.png", b"a")}},
        400,
        "URLs",
    ),
    ("/predict_image", {"json": {"image": "/etc/passwd"}}, 415, "multipart/form-data"),
    (
        "/predict_image",
        {"content": b"garbage", "headers": {"content-type": "multipart/form-data; boundary=x"}},
        400,
        "malformed",
    ),
    ("/predict_image", {"content": b"garbage", "headers": {"content-type": "multipart/form-data"}}, 400, "boundary"),
    ("/predict_image", {"files": {"picture": ("x.png", png(np.zeros((28, 28))), "image/png")}}, 400, "field 'image'"),
    ("/predict_npy", {"files": {"array": ("a.npy", object_npy(), "application/octet-stream")}}, 400, "dtype object"),
    ("/predict_image", {"files": {"image": ("x" * 300 + ".png", png(np.zeros((28, 28))))}}, 400, "file name longer"),
    (
        "/predict_image",
        {"files": [("image", ("a.png", png(np.zeros((28, 28))))), ("image", ("b.png", png(np.zeros((28, 28)))))]},
        400,
        "takes one file in the field 'image', got 2",
    ),
]


@pytest.mark.parametrize(("route", "request_kwargs", "status", "message"), BAD_REQUESTS)
def test_bad_input_gets_a_clear_4xx_and_the_service_keeps_serving(
    server: str, route: str, request_kwargs: dict, status: int, message: str
) -> None:
    if "content" in request_kwargs and "headers" not in request_kwargs:
        request_kwargs = {**request_kwargs, "headers": {"content-type": "application/json"}}
    response = post(server, route, **request_kwargs)
    assert response.status_code == status, response.text
    assert message.lower() in response.text.lower()
    assert post(server, "/predict", json={"images": [[[0] * 28] * 28]}).status_code == 200


def test_concurrent_requests_each_get_their_own_answer(server: str, reference, digit_images) -> None:
    images = digit_images
    images = images[:CONCURRENT_REQUESTS].astype(np.float32)
    expected = reference.probabilities(images)

    def ask(index: int) -> list[float]:
        response = post(server, "/predict", json={"images": [images[index].tolist()]})
        response.raise_for_status()
        return response.json()[0]["probabilities"]

    assert_answered_apart_and_batched(server, ask, expected)


def test_no_model_in_store_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "empty-home")}
    result = subprocess.run(
        [sys.executable, "-m", "bentoml", "serve", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "python -m training" in result.stdout + result.stderr
    print(json.dumps(result.stderr[-500:]))
