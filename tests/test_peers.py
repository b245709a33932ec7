"""The peer benchmark's shared pieces: what peer servers decode and answer, and how answers are read."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from loadtest.answer_checks import v2_digits
from loadtest.peers import shared
from loadtest.peers.environments import PeerEnvironment


def test_answers_come_back_split_per_request_in_our_form() -> None:
    probabilities = np.eye(10, dtype=np.float32)[[3, 1, 4, 1, 5]]
    first, second = shared.split(probabilities, [2, 3])
    assert [a["digit"] for a in shared.answers(first)] == [3, 1]
    assert [a["digit"] for a in shared.answers(second)] == [4, 1, 5]
    assert shared.answers(second)[0] == {"digit": 4, "confidence": 1.0, "probabilities": probabilities[2].tolist()}


def test_pixels_arrive_in_the_model_shape_from_json_and_npy() -> None:
    images = (np.arange(2 * 784) % 256).astype(np.uint8).reshape(2, 784)
    buffer = io.BytesIO()
    np.save(buffer, images)
    from_npy = shared.pixels_from_npy(buffer.getvalue())
    from_json = shared.pixels_from_json(json.dumps({"images": images.reshape(2, 28, 28).tolist()}).encode())
    assert from_npy.shape == from_json.shape == (2, 28, 28) and from_npy.dtype == np.float32
    np.testing.assert_array_equal(from_npy, from_json)


def test_peers_never_unpickle_an_upload() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"not": "pixels"}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="pickle"):
        shared.pixels_from_npy(buffer.getvalue())


def test_open_inference_digits_read_from_json_and_binary_answers() -> None:
    digits = np.array([7, 2, 1], dtype="<i8")
    probabilities = np.zeros((3, 10), dtype="<f4")
    as_json = {
        "outputs": [
            {"name": "probabilities", "data": probabilities.ravel().tolist()},
            {"name": "digit", "data": [7, 2, 1]},
        ]
    }
    assert v2_digits(json.dumps(as_json).encode(), None, 3) == [7, 2, 1]
    outputs = [
        {"name": "probabilities", "parameters": {"binary_data_size": probabilities.nbytes}},
        {"name": "digit", "parameters": {"binary_data_size": digits.nbytes}},
    ]
    header = json.dumps({"outputs": outputs}).encode()
    body = header + probabilities.tobytes() + digits.tobytes()
    assert v2_digits(body, str(len(header)), 3) == [7, 2, 1]


def test_peer_environments_pin_our_runtime_build() -> None:
    import importlib.metadata

    pins = PeerEnvironment("somewhere", ("framework==1.0",)).pins()
    assert pins[0] == "framework==1.0"
    assert f"openvino=={importlib.metadata.version('openvino')}" in pins
