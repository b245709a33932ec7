"""Temperature scaling and the "not sure" threshold, on logits made in the test."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from training.calibration import (
    expected_calibration_error,
    fit_temperature,
    logits_model,
    softmax,
    unsure_threshold,
    with_temperature,
)


def sampled_labels(logits: np.ndarray, temperature: float, seed: int = 0) -> np.ndarray:
    """Labels drawn from softmax(logits / temperature): data for which that temperature is right."""
    rng = np.random.default_rng(seed)
    probabilities = softmax(logits, temperature)
    cumulative = probabilities.cumsum(axis=1)
    return (rng.uniform(size=(len(logits), 1)) > cumulative).sum(axis=1).clip(max=logits.shape[1] - 1)


def test_fit_recovers_the_temperature_that_made_the_labels() -> None:
    logits = np.random.default_rng(1).normal(0, 4, size=(20_000, 10))
    for truth in (0.5, 2.0):
        assert abs(fit_temperature(logits, sampled_labels(logits, truth)) - truth) / truth < 0.05


def test_calibration_error_is_small_when_calibrated_and_large_when_overconfident() -> None:
    logits = np.random.default_rng(2).normal(0, 3, size=(20_000, 10))
    labels = sampled_labels(logits, 2.0)
    assert expected_calibration_error(softmax(logits, 2.0), labels) < 0.01
    assert expected_calibration_error(softmax(logits, 0.5), labels) > 0.1


def test_threshold_flags_the_asked_share() -> None:
    confidences = np.random.default_rng(4).uniform(size=10_000)
    threshold = unsure_threshold(confidences, share=0.01)
    assert abs((confidences < threshold).mean() - 0.01) <= 0.0001


def test_stored_model_answers_softmax_of_logits_over_temperature() -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input(shape=(28, 28)), layers.Flatten(), layers.Dense(10, activation="softmax")], name="net"
    )
    images = np.random.default_rng(3).uniform(0, 1, size=(8, 28, 28)).astype(np.float32)
    logits = logits_model(model).predict(images, verbose=0)
    np.testing.assert_allclose(softmax(logits), model.predict(images, verbose=0), atol=1e-6)
    calibrated = with_temperature(logits_model(model), 3.0, "net")
    np.testing.assert_allclose(calibrated.predict(images, verbose=0), softmax(logits, 3.0), atol=1e-6)
    assert calibrated.predict(images, verbose=0).argmax(axis=1).tolist() == logits.argmax(axis=1).tolist()
