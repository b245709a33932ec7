"""An ensemble is one model that averages its members' calibrated logits."""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import pytest
from keras import layers

import model_contract as contract
from training.calibration import logits_model, softmax, with_temperature
from training.ensemble import EnsembleError, ensemble_logits, held_out_images


def calibrated_net(seed: int, temperature: float) -> keras.Model:
    keras.utils.set_random_seed(seed)
    net = keras.Sequential([keras.Input(shape=(28, 28)), layers.Flatten(), layers.Dense(10, activation="softmax")])
    return with_temperature(logits_model(net), temperature, f"net_{seed}")


def test_ensemble_answers_the_mean_of_calibrated_logits() -> None:
    members = [calibrated_net(0, 2.0), calibrated_net(1, 0.5)]
    images = np.random.default_rng(0).uniform(0, 1, size=(6, 28, 28)).astype(np.float32)
    combined = ensemble_logits(members).predict(images, verbose=0)
    scaled = [np.log(member.predict(images, verbose=0)) for member in members]  # logits / T, up to a constant
    expected = softmax(np.mean(scaled, axis=0))
    np.testing.assert_allclose(softmax(combined), expected, atol=1e-5)


def test_members_must_share_their_held_out_images() -> None:
    def stored(tag: str, held_out: int | None) -> SimpleNamespace:
        calibration = {contract.META_CALIBRATION: {"held_out_images": held_out}} if held_out else {}
        return SimpleNamespace(tag=tag, info=SimpleNamespace(metadata=calibration))

    assert held_out_images([stored("a", 5000), stored("b", 5000)]) == 5000
    with pytest.raises(EnsembleError, match="a: 5000, b: 1000"):
        held_out_images([stored("a", 5000), stored("b", 1000)])
    with pytest.raises(EnsembleError, match="b: None"):
        held_out_images([stored("a", 5000), stored("b", None)])
