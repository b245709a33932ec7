"""What every peer server shares, inside its own environment: our model runtime, and the request
and answer forms the load tests send and check.

Peers load the stored model with `service.model_runtime.load_classifier`, the function our
service uses (OpenVINO, the same precision check, the same warm-up), so that the benchmark
compares serving layers, not runtimes. This module imports only the standard library, NumPy and
that runtime: peer environments hold their framework, OpenVINO and NumPy, nothing of ours.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

import model_contract as contract
from service.model_runtime import Classifier, load_classifier

MODEL_PATH_ENV = "PEER_MODEL_PATH"  # the stored model's folder, set by loadtest.peers
MAX_BATCH_ENV = "PEER_MAX_BATCH"  # most requests in one batch: our MNIST_MAX_BATCH_SIZE
BATCH_WAIT_MS_ENV = "PEER_BATCH_WAIT_MS"  # longest a request waits for others to join its batch
JSON_ROUTE, NPY_ROUTE = "/predict", "/predict_npy"  # the routes our load tests call, on every target


def max_batch() -> int:
    return int(os.environ[MAX_BATCH_ENV])


def batch_wait_s() -> float:
    return float(os.environ[BATCH_WAIT_MS_ENV]) / 1000


def classifier() -> Classifier:
    return load_classifier(Path(os.environ[MODEL_PATH_ENV]), runtime="openvino")


def pixels_from_json(request: dict | bytes) -> np.ndarray:
    """{"images": [28x28 arrays]} (parsed or not) -> (N, 28, 28) float32."""
    body = json.loads(request) if isinstance(request, bytes | str) else request
    return np.asarray(body["images"], dtype=np.float32).reshape(-1, *contract.INPUT_SHAPE)


def pixels_from_npy(body: bytes) -> np.ndarray:
    """A .npy file of (N, 28, 28) or (N, 784) pixels -> (N, 28, 28) float32; never unpickles."""
    return np.load(io.BytesIO(body), allow_pickle=False).astype(np.float32).reshape(-1, *contract.INPUT_SHAPE)


def answers(probabilities: np.ndarray) -> list[dict]:
    """Our answer form: one {"digit", "confidence", "probabilities"} per image."""
    digits = probabilities.argmax(axis=1)
    return [
        {"digit": int(digit), "confidence": float(row[digit]), "probabilities": row.tolist()}
        for digit, row in zip(digits, probabilities, strict=True)
    ]


def split(probabilities: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """One batched model call's rows, back into the requests they came from."""
    return np.split(probabilities, np.cumsum(sizes)[:-1])
