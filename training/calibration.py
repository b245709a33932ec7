"""Confidence that means what it says, and the line below which an answer is "not sure".

Temperature scaling (Guo et al., 2017): the net's logits are divided by one number, fitted to
minimise cross-entropy on held-out training images, and the division is built into the stored
model, so every runtime serves calibrated probabilities. The digit never changes (the largest
logit stays the largest). The "not sure" threshold is then chosen on the same held-out digits:
the confidence below which at most `UNSURE_SHARE_OF_DIGITS` of them fall.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers
from scipy import special
from scipy.optimize import minimize_scalar

from training.non_digits import TRAINING_FONT_PACKAGES, fonts_from, non_digit_images

ECE_BINS = 15  # equal-width confidence bins, as Guo et al. measured
# Held-out digits allowed below the threshold: under the 1% of test digits the threshold may flag,
# with room for the difference between 5,000 held-out and 10,000 test images.
UNSURE_SHARE_OF_DIGITS = 0.007
TEMPERATURE_RANGE = (0.05, 20.0)
NON_DIGITS_MEASURED = 2000  # drawn with another seed than training's
PREDICT_BATCH_SIZE = 1000
Labelled = tuple[np.ndarray, np.ndarray]  # images and their digits


@dataclass(frozen=True)
class Calibration:
    """What calibration chose on held-out images, and what it did on the test set."""

    temperature: float
    unsure_below: float  # answers less confident than this are flagged as not sure
    held_out_images: int
    test_ece_before: float
    test_ece_after: float
    test_digits_flagged: float  # share of test digits below `unsure_below`
    non_digits_flagged: float  # share of drawn non-digits (held-out seed) below it


def logits_model(model: keras.Model) -> keras.Model:
    """The same net without its final softmax: it answers logits, sharing every weight."""
    last = model.layers[-1]
    linear = layers.Dense(last.units, name="logits")
    logits = linear(last.input)
    linear.set_weights(last.get_weights())
    return keras.Model(model.inputs[0], logits, name=f"{model.name}_logits")  # one tensor in, not a list


def with_temperature(logits: keras.Model, temperature: float, name: str) -> keras.Model:
    """A logits model answering softmax(logits / temperature): what is stored and served."""
    scaled = layers.Rescaling(1.0 / temperature, name="temperature")(logits.output)
    return keras.Model(logits.inputs[0], layers.Softmax(name="probabilities")(scaled), name=name)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    return special.softmax(logits / temperature, axis=1)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature with the least cross-entropy on these held-out logits."""

    def cross_entropy(log_t: float) -> float:
        log_probabilities = special.log_softmax(logits / np.exp(log_t), axis=1)
        return float(-log_probabilities[np.arange(len(labels)), labels].mean())

    best = minimize_scalar(cross_entropy, bounds=tuple(np.log(TEMPERATURE_RANGE)), method="bounded")
    return float(np.exp(best.x))


def confidence_bins(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equal-width confidence bin: mean confidence, accuracy and count (NaN where a bin is empty)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore"):
        return np.bincount(which, confidence, bins) / counts, np.bincount(which, correct, bins) / counts, counts


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """The gap between confidence and accuracy, averaged over confidence bins weighted by size."""
    mean_confidence, accuracy, counts = confidence_bins(probabilities, labels, bins)
    return float(np.nansum(counts / counts.sum() * np.abs(accuracy - mean_confidence)))


def unsure_threshold(confidences: np.ndarray, share: float = UNSURE_SHARE_OF_DIGITS) -> float:
    """The confidence below which `share` of these (held-out digits') confidences fall."""
    return float(np.quantile(confidences, share))


def calibration_of(
    logits_of: Callable[[np.ndarray], np.ndarray], held_out: Labelled, test: Labelled, seed: int
) -> Calibration:
    """Temperature and threshold chosen on the held-out (images, labels); calibration errors and
    flagged shares measured on the test ones and on drawn non-digits."""
    held_out_logits = logits_of(held_out[0])
    temperature = fit_temperature(held_out_logits, held_out[1])
    threshold = unsure_threshold(softmax(held_out_logits, temperature).max(axis=1))
    test_logits = logits_of(test[0])
    calibrated_test = softmax(test_logits, temperature)
    drawn = non_digit_images(NON_DIGITS_MEASURED, seed + 1, fonts_from(TRAINING_FONT_PACKAGES))
    return Calibration(
        temperature=temperature,
        unsure_below=threshold,
        held_out_images=len(held_out[0]),
        test_ece_before=expected_calibration_error(softmax(test_logits), test[1]),
        test_ece_after=expected_calibration_error(calibrated_test, test[1]),
        test_digits_flagged=float((calibrated_test.max(axis=1) < threshold).mean()),
        non_digits_flagged=float((softmax(logits_of(drawn), temperature).max(axis=1) < threshold).mean()),
    )


def calibrate(
    logits: keras.Model,
    held_out: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    seed: int,
    name: str,
) -> tuple[keras.Model, Calibration]:
    """The logits model with its fitted temperature and softmax built in, and its `Calibration`."""

    def logits_of(images: np.ndarray) -> np.ndarray:
        return logits.predict(images.astype(np.float32), batch_size=PREDICT_BATCH_SIZE, verbose=0)

    calibration = calibration_of(logits_of, held_out, test, seed)
    return with_temperature(logits, calibration.temperature, name), calibration
