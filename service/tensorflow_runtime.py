"""TensorFlow's runtime: the exported SavedModel, on the GPU when TensorFlow sees one.

On GPUs this is the serving path (OpenVINO's runtime here is for CPUs). Keras's eager
`model.predict` costs 18-55 ms a call on two cores; the SavedModel's traced function runs a batch
of one in about 1-2 ms. Nothing here unpickles: a SavedModel is a graph and weights, loaded by
TensorFlow's own reader. Imported only when this runtime serves, so that the CPU image needs no
TensorFlow.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import tensorflow as tf

import model_contract as contract


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


class TensorFlowClassifier:
    """Loads a stored model's SavedModel once and maps pixel batches to class probabilities."""

    precision = "f32"
    precision_check = None  # full precision only: nothing to check

    def __init__(self, model_path: Path) -> None:
        self.device = serving_device()
        self.runtime = f"tensorflow {tf.__version__}"
        with tf.device(self.device):
            saved = tf.saved_model.load(str(model_path / contract.SAVED_MODEL_DIR))
        self._saved = saved  # the loaded object owns the variables the function reads
        self._serve = getattr(saved, contract.SERVING_ENDPOINT)

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 pixels, 0-255 -> (N, 10) float32 probabilities."""
        with tf.device(self.device):
            return self._serve(tf.constant(pixels, dtype=tf.float32)).numpy()
