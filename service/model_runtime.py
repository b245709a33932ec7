"""Which runtime serves a stored model: OpenVINO on CPUs, TensorFlow on GPUs.

Each runtime's module is imported only when it serves: the CPU image carries OpenVINO and no
TensorFlow (a fraction of its size), the GPU image both. `MNIST_RUNTIME` forces one;
`MNIST_PRECISION=full` keeps OpenVINO from reduced precision.
"""

from __future__ import annotations

import glob
import importlib.util
import logging
import os
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

import model_contract as contract

Runtime = Literal["auto", "openvino", "tensorflow"]
Precision = Literal["auto", "full"]
WARMUP_BATCH_SIZES = (1, 8, 64, 256)  # prepare the shapes that traffic will bring
PLATFORMS = {"openvino": "openvino_ir", "tensorflow": "tensorflow_savedmodel"}  # V2 metadata's "platform"
logger = logging.getLogger("bentoml")


class Classifier(Protocol):
    runtime: str  # library and version, e.g. "openvino 2026.4.1"
    precision: str  # "f32" or "bf16"
    precision_check: dict | None  # how reduced precision answered its check, when it was tried
    device: str

    def probabilities(self, pixels: np.ndarray) -> np.ndarray: ...


class RuntimeUnavailable(RuntimeError):
    """The runtime asked for (or the only one possible) cannot serve this model here."""


def gpu_visible() -> bool:
    """Whether a CUDA device is visible to this process, without importing TensorFlow to ask."""
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES", "unset").strip() in ("", "-1")
    return not hidden and bool(glob.glob("/dev/nvidia[0-9]*"))


def has_openvino_model(model_path: Path) -> bool:
    return contract.openvino_model_file(model_path).is_file()


def chosen_runtime(model_path: Path, runtime: Runtime = "auto") -> str:
    """'openvino' or 'tensorflow': TensorFlow where a GPU is visible or the model has no IR
    (stored before this runtime existed), else OpenVINO; a forced runtime as it is."""
    if runtime != "auto":
        return runtime
    return "tensorflow" if gpu_visible() or not has_openvino_model(model_path) else "openvino"


def load_classifier(model_path: str | Path, runtime: Runtime = "auto", precision: Precision = "auto") -> Classifier:
    """The stored model, loaded by its runtime and warmed up for every batch size traffic brings."""
    path = Path(model_path)
    name = chosen_runtime(path, runtime)
    if importlib.util.find_spec(name) is None:
        raise RuntimeUnavailable(f"the {name} runtime is not installed here; MNIST_RUNTIME chooses another")
    if name == "openvino":
        if not has_openvino_model(path):
            raise RuntimeUnavailable(
                f"{path} has no OpenVINO model ({contract.OPENVINO_DIR}/); it was stored before training "
                "converted models: train again, or serve it with MNIST_RUNTIME=tensorflow"
            )
        from service.openvino_runtime import OpenVinoClassifier

        classifier: Classifier = OpenVinoClassifier(path, allow_reduced=precision == "auto")
    else:
        from service.tensorflow_runtime import TensorFlowClassifier

        classifier = TensorFlowClassifier(path)
    for size in WARMUP_BATCH_SIZES:
        classifier.probabilities(np.zeros((size, *contract.INPUT_SHAPE), dtype=np.float32))
    logger.info("serving %s with %s, %s, on %s", path.name, classifier.runtime, classifier.precision, classifier.device)
    return classifier
