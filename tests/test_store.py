"""Saving to the model store and loading the serving path back gives the same predictions."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

import model_contract as contract
from service.model_runtime import CompiledClassifier
from training.models import conv_batchnorm_dropout
from training.store import save_to_store


def test_round_trip_through_the_store_gives_identical_predictions() -> None:
    import bentoml

    keras.utils.set_random_seed(3)
    model = conv_batchnorm_dropout()
    model.compile(loss="sparse_categorical_crossentropy")
    pixels = np.random.default_rng(3).integers(0, 256, (16, 28, 28)).astype(np.float32)
    model.fit(pixels, np.arange(16) % 10, epochs=1, verbose=0)  # moves the BatchNorm statistics
    expected = model.predict(pixels, verbose=0)

    stored = save_to_store(model, {contract.META_ARCHITECTURE: "conv_batchnorm_dropout"}, report_folder=None)
    reloaded = bentoml.models.get(stored.tag)
    assert reloaded.info.metadata[contract.META_ARCHITECTURE] == "conv_batchnorm_dropout"

    served = CompiledClassifier(reloaded.path).probabilities(pixels)
    np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-6)

    keras_file = Path(reloaded.path) / contract.KERAS_FILE
    from_keras = keras.models.load_model(keras_file, safe_mode=True).predict(pixels, verbose=0)
    np.testing.assert_allclose(from_keras, expected, rtol=1e-4, atol=1e-6)
