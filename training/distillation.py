"""Targets that carry what several trained nets know: the label mixed with their softened mean answer.

Nets of the same recipe from different seeds make different mistakes, and their mean reads
better than any one of them (`training.ensemble`), but serving the mean costs every member's
compute. Distillation (Hinton, Vinyals and Dean, 2015) trains one net towards the teachers'
answers instead, each digit's target becoming `(1 - share)` of its label plus `share` of the
teachers' mean probabilities at a raised temperature, which shows which other digits the
teachers thought it resembled; the student is then served at one net's cost.

The teachers answer once, on the training images as they are, before the fit (ten teachers on
45,000 images: 47 s on two cores). Answering every augmented batch instead would add a teacher's
pass per teacher to each step, 17 ms against the 37 ms a step of 128 images takes: past twenty
minutes for the long recipe with three teachers. Each teacher answers with one view of its net
(its logits for the image itself, divided by its fitted temperature), so its views, where it has
several, are not paid for either.

A teacher must not have trained on the images its student is scored on: nets saved by
`training.sweep --save` for a student measured in a sweep, any stored net for the test set.
"""

from __future__ import annotations

import bentoml
import keras
import numpy as np

import model_contract as contract
from training.calibration import softmax
from training.ensemble import member_logits
from training.store import stored_keras_model

PREDICT_BATCH_SIZE = 1000


def one_view_logits(stored: bentoml.Model, images: np.ndarray) -> np.ndarray:
    """A stored, calibrated net's logits divided by its temperature, for each image itself."""
    calibration = stored.info.metadata.get(contract.META_CALIBRATION)
    if not calibration:
        raise ValueError(f"teacher {stored.tag} is not calibrated: teachers come from the quick or long recipe")
    full = stored_keras_model(stored)
    nets = [layer for layer in full.layers if isinstance(layer, keras.Model)]
    if nets:  # answered over several views: the net inside answers one view's raw logits
        raw = nets[0].predict(images, batch_size=PREDICT_BATCH_SIZE, verbose=0)
        return raw / calibration["temperature"]
    return member_logits(full, 0).predict(images, batch_size=PREDICT_BATCH_SIZE, verbose=0)


def mixed_targets(one_hot: np.ndarray, teacher_logits: np.ndarray, share: float, temperature: float) -> np.ndarray:
    """`(1 - share)` of each one-hot label plus `share` of softmax(teacher logits / temperature)."""
    if not 0 < share <= 1:
        raise ValueError(f"the teachers' share of a target must be over 0 and at most 1, got {share}")
    if temperature <= 0:
        raise ValueError(f"the teachers' temperature must be positive, got {temperature}")
    return ((1 - share) * one_hot + share * softmax(teacher_logits, temperature)).astype(np.float32)


def distilled_targets(
    one_hot: np.ndarray, images: np.ndarray, teachers: tuple[str, ...], share: float, temperature: float
) -> np.ndarray:
    """The digits' targets mixed with the mean of the stored teachers' one-view logits."""
    pixels = images.astype(np.float32)
    logits = [one_view_logits(bentoml.models.get(tag), pixels) for tag in teachers]
    return mixed_targets(one_hot, np.mean(logits, axis=0), share, temperature)
