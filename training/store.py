"""Put a trained model into the BentoML model store, in the layout `model_contract` describes."""

from __future__ import annotations

import platform
import shutil
from dataclasses import asdict
from pathlib import Path

import bentoml
import keras
import numpy as np
import openvino as ov
import tensorflow as tf

import model_contract as contract
from training.calibration import Calibration
from training.data import Mnist
from training.recipes import TrainConfig
from training.train import Evaluation, TrainResult


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "bentoml": bentoml.__version__,
        "openvino": ov.__version__,
    }


def architecture(config: TrainConfig) -> str:
    """The net's name, and its views where it answers over several: they multiply what an answer
    costs, so a reader of `/model_info` should see them."""
    return config.model if config.views == 1 else f"{config.model}, mean over {config.views} views"


def stored_keras_model(stored: bentoml.Model) -> keras.Model:
    """A stored version's `.keras` file, read in safe mode (no code in it runs)."""
    return keras.saving.load_model(stored.path_of(contract.KERAS_FILE), safe_mode=True)


def model_metadata(result: TrainResult, config: TrainConfig, data: Mnist) -> dict:
    """Everything a reader of the store should know about how this model was made and how it does."""
    return {
        contract.META_ARCHITECTURE: architecture(config),
        **measured_metadata(result.model, result.evaluation, result.calibration, data),
        contract.META_NORMALISATION: {"mean": round(result.mean, 4), "std": round(result.std, 4)},
        contract.META_TRAINING_OPTIONS: {  # BentoML metadata has no null: unset options are left out
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(config).items()
            if value is not None
        },
        contract.META_TRAINING_SECONDS: round(result.seconds, 1),
        contract.META_TRAINING_PRECISION: result.precision,
    }


def measured_metadata(model: keras.Model, evaluation: Evaluation, calibration: Calibration | None, data: Mnist) -> dict:
    """What any stored model reports, however it was made: how it does, its size, what it was
    measured on and with, its input, and its calibration when it has one."""
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    return {
        contract.META_TEST_ACCURACY: round(evaluation.accuracy, 5),
        contract.META_TEST_LOSS: round(evaluation.loss, 5),
        contract.META_PER_CLASS_ACCURACY: evaluation.per_class_accuracy,
        contract.META_PARAMETERS: int(model.count_params()),
        contract.META_TRAINABLE_PARAMETERS: trainable,
        contract.META_DATA_SHA256: data.sha256,
        contract.META_LIBRARY_VERSIONS: library_versions(),
        **calibration_metadata(calibration),
        contract.META_INPUT_FORMAT: {
            "shape": list(contract.INPUT_SHAPE),
            "dtype": contract.INPUT_DTYPE,
            "range": [0, contract.PIXEL_MAX],
            "ink": "light on dark, as in MNIST",
        },
    }


def calibration_metadata(calibration: Calibration | None) -> dict:
    """The calibration's figures and the "not sure" threshold, when the model was calibrated."""
    if calibration is None:
        return {}
    threshold = calibration.unsure_below  # unrounded: confidences crowd just below 1
    figures = {key: round(value, 5) for key, value in asdict(calibration).items()}
    return {contract.META_CALIBRATION: {**figures, "unsure_below": threshold}, contract.META_UNSURE_BELOW: threshold}


def save_to_store(
    model: keras.Model, metadata: dict, check_images: np.ndarray, report_folder: Path | None
) -> bentoml.Model:
    """Write a new version: what serving loads (the SavedModel for GPUs, its OpenVINO conversion for
    CPUs, and the fixed images reduced precision must answer as full precision does), the .keras
    file, and the report."""
    with bentoml.models.create(
        contract.MODEL_NAME,
        labels={"architecture": metadata[contract.META_ARCHITECTURE]},
        metadata=metadata,
    ) as stored:
        saved_model = stored.path_of(contract.SAVED_MODEL_DIR)
        model.export(saved_model, format="tf_saved_model", verbose=False)
        converted = ov.convert_model(saved_model)
        openvino_model = contract.openvino_model_file(Path(stored.path))
        ov.save_model(converted, openvino_model, compress_to_fp16=False)  # the weights as trained
        np.save(stored.path_of(contract.CHECK_BATCH_FILE), check_images.astype(np.uint8), allow_pickle=False)
        model.save(stored.path_of(contract.KERAS_FILE))
        if report_folder is not None:
            shutil.copytree(report_folder, stored.path_of(contract.REPORT_DIR))
    return stored
