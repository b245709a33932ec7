"""The compiled inference path: the exported SavedModel, on the GPU when TensorFlow sees one.

Keras's eager `model.predict` costs 18-55 ms a call on two cores; the SavedModel's traced
function runs a batch of one in about 2 ms. Nothing here unpickles: a SavedModel is a graph and
weights, loaded by TensorFlow's own reader.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import tensorflow as tf

import model_contract as contract

WARMUP_BATCH_SIZES = (1, 8, 64, 256)  # trace and time the shapes that traffic will bring


def serving_device() -> str:
    """'/GPU:0' when TensorFlow can use a GPU, else '/CPU:0'.

    On a GPU, memory is taken as the model needs it rather than all of it up front (TensorFlow's
    default), so that several workers, or other services, can share the card.
    """
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        with contextlib.suppress(RuntimeError):  # already initialised in this process: keep its setting
            tf.config.experimental.set_memory_growth(gpu, True)
    return "/GPU:0" if gpus else "/CPU:0"


class CompiledClassifier:
    """Loads a stored model's SavedModel once and maps pixel batches to class probabilities."""

    def __init__(self, model_path: str | Path) -> None:
        self.device = serving_device()
        with tf.device(self.device):
            saved = tf.saved_model.load(str(Path(model_path) / contract.SAVED_MODEL_DIR))
        self._saved = saved  # the loaded object owns the variables the function reads
        self._serve = getattr(saved, contract.SERVING_ENDPOINT)

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 pixels, 0-255 -> (N, 10) float32 probabilities."""
        with tf.device(self.device):
            return self._serve(tf.constant(pixels, dtype=tf.float32)).numpy()

    def warm_up(self) -> None:
        """Run every warm-up batch size once, so the first real request is not the slow one."""
        for size in WARMUP_BATCH_SIZES:
            self.probabilities(np.zeros((size, *contract.INPUT_SHAPE), dtype=np.float32))
