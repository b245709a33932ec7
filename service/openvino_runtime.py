"""OpenVINO's runtime: the CPU serving path, in bf16 where the CPU computes it natively.

Training converts the SavedModel to OpenVINO's IR and stores it beside it (training/store.py), so
serving never converts. On two AVX-512 cores (results/inprocess.md) the IR answers a batch of one
several times faster than TensorFlow's SavedModel and classifies about twice the images per
second at batch 256. Reduced precision serves only after it answered the model's fixed check batch
as full precision did (same digits, every probability within the contract's tolerance); otherwise
full precision serves and the check says why.
"""

from __future__ import annotations

import logging
import queue
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import openvino as ov

import model_contract as contract

DEVICE = "CPU"
FULL, REDUCED = "f32", "bf16"
NATIVE_REDUCED_CAPABILITY = "BF16"  # in the CPU plugin's OPTIMIZATION_CAPABILITIES: AVX-512 BF16 or AMX
logger = logging.getLogger("bentoml")


@dataclass(frozen=True)
class PrecisionCheck:
    """How bf16 answered the check batch beside f32."""

    images: int
    digits_changed: int
    max_probability_difference: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.digits_changed == 0 and self.max_probability_difference <= self.tolerance

    def as_dict(self) -> dict:
        return asdict(self) | {"passed": self.passed}


def compile_for(core: ov.Core, model: ov.Model, precision: str) -> ov.CompiledModel:
    """One stream on all cores: the lowest latency per call, and at batch 256 as fast as two streams."""
    return core.compile_model(model, DEVICE, {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"})


def check_reduced(
    full: ov.CompiledModel, reduced: ov.CompiledModel, images: np.ndarray, tolerance: float
) -> PrecisionCheck:
    pixels = images.astype(np.float32)
    expected = full.create_infer_request().infer([pixels])[0]
    answered = reduced.create_infer_request().infer([pixels])[0]
    return PrecisionCheck(
        images=len(pixels),
        digits_changed=int((expected.argmax(axis=1) != answered.argmax(axis=1)).sum()),
        max_probability_difference=round(float(np.abs(expected - answered).max()), 5),
        tolerance=tolerance,
    )


class OpenVinoClassifier:
    """Compiles a stored model's IR once; thread-safe through a pool of inference requests."""

    device = DEVICE

    def __init__(self, model_path: Path, allow_reduced: bool) -> None:
        core = ov.Core()
        self.runtime = f"openvino {ov.__version__.split('-')[0]}"
        model = core.read_model(contract.openvino_model_file(model_path))
        self._compiled, self.precision = compile_for(core, model, FULL), FULL
        self.precision_check: dict | None = None
        native = NATIVE_REDUCED_CAPABILITY in core.get_property(DEVICE, "OPTIMIZATION_CAPABILITIES")
        if allow_reduced and native:
            reduced = compile_for(core, model, REDUCED)
            images = np.load(model_path / contract.CHECK_BATCH_FILE, allow_pickle=False)
            check = check_reduced(self._compiled, reduced, images, contract.REDUCED_PRECISION_TOLERANCE)
            self.precision_check = check.as_dict()
            if check.passed:
                self._compiled, self.precision = reduced, REDUCED
            else:
                logger.warning("bf16 failed its check against f32 (%s): serving f32", self.precision_check)
        self._idle: queue.SimpleQueue[ov.InferRequest] = queue.SimpleQueue()

    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 pixels, 0-255 -> (N, 10) float32 probabilities.

        An inference request serves one call at a time, so each call takes an idle one (or makes
        one: as many exist as calls ever ran at once); the answer is a copy, not the request's buffer.
        """
        try:
            request = self._idle.get_nowait()
        except queue.Empty:
            request = self._compiled.create_infer_request()
        try:
            return request.infer([pixels])[0]
        finally:
            self._idle.put(request)
