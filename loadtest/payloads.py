"""Real MNIST test digits, encoded once into every request body the load tests send."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
from PIL import Image

PAYLOAD_DIGITS = 512  # distinct test digits cycled through by the users


@dataclass(frozen=True)
class Payloads:
    """Pre-encoded request bodies and the label that goes with each."""

    labels: np.ndarray
    single_json: list[bytes]  # {"images": [one 28x28 array]}
    png: list[bytes]  # one PNG file per digit
    batch_json: dict[int, list[bytes]]  # batch size -> {"images": [...]} bodies
    batch_npy: dict[int, list[bytes]]  # batch size -> .npy files
    batch_labels: dict[int, list[np.ndarray]]
    v2_binary: dict[int, list[tuple[bytes, int]]]  # batch size -> Open Inference Protocol bodies, JSON header length
    v2_json: dict[int, list[bytes]]  # batch size -> Open Inference Protocol bodies, all JSON


def v2_tensor(images: np.ndarray) -> dict:
    return {"name": "images", "shape": list(images.shape), "datatype": "UINT8"}


def v2_json_body(images: np.ndarray) -> bytes:
    """An Open Inference Protocol request with the pixels in JSON: the form every V2 server speaks."""
    return json.dumps({"inputs": [v2_tensor(images) | {"data": images.ravel().tolist()}]}).encode()


def v2_binary_body(images: np.ndarray) -> tuple[bytes, int]:
    """An Open Inference Protocol request with the pixels as binary data (UINT8), outputs asked as binary."""
    tensor = v2_tensor(images) | {"parameters": {"binary_data_size": images.nbytes}}
    header = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}}).encode()
    return header + np.ascontiguousarray(images, dtype=np.uint8).tobytes(), len(header)


def load_digits(data: str | None = None, count: int | None = PAYLOAD_DIGITS) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` MNIST test digits, from `data`, $MNIST_DATA, or Keras's download."""
    from training.data import load_mnist

    mnist = load_mnist(data)
    return mnist.x_test[:count], mnist.y_test[:count]


def build_payloads(images: np.ndarray, labels: np.ndarray, batch_sizes: tuple[int, ...] = (1, 8, 32, 64)) -> Payloads:
    def png(pixels: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        return buffer.getvalue()

    def npy(array: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue()

    def batches(size: int) -> list[slice]:
        return [slice(start, start + size) for start in range(0, len(images) - size + 1, size)]

    return Payloads(
        labels=labels,
        single_json=[json.dumps({"images": [image.tolist()]}).encode() for image in images],
        png=[png(image) for image in images],
        batch_json={n: [json.dumps({"images": images[s].tolist()}).encode() for s in batches(n)] for n in batch_sizes},
        batch_npy={n: [npy(images[s]) for s in batches(n)] for n in batch_sizes},
        batch_labels={n: [labels[s] for s in batches(n)] for n in batch_sizes},
        v2_binary={n: [v2_binary_body(images[s]) for s in batches(n)] for n in batch_sizes},
        v2_json={n: [v2_json_body(images[s]) for s in batches(n)] for n in batch_sizes},
    )
