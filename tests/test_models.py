"""The five architectures: the tutorial's parameter counts, normalisation inside, softmax out."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from training.models import ARCHITECTURES, MNIST_MEAN, MNIST_STD, with_dropout_scaled

# (total, trainable) parameters; the last two are the tutorial's published figures.
EXPECTED_PARAMETERS = {
    "linear": (7_850, 7_850),
    "one_hidden_layer": (79_510, 79_510),
    "conv": (98_354, 98_354),
    "conv_dropout": (336_940, 336_940),
    "conv_batchnorm_dropout": (340_700, 338_820),
}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_parameter_counts(name: str) -> None:
    model = ARCHITECTURES[name](MNIST_MEAN, MNIST_STD)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert (model.count_params(), trainable) == EXPECTED_PARAMETERS[name]


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_raw_pixels_in_probabilities_out(name: str) -> None:
    model = ARCHITECTURES[name](MNIST_MEAN, MNIST_STD)
    pixels = np.random.default_rng(0).integers(0, 256, (4, 28, 28)).astype(np.float32)
    probabilities = np.asarray(model(pixels, training=False))
    assert probabilities.shape == (4, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_normalisation_maps_the_mean_to_zero_and_one_std_to_one() -> None:
    model = ARCHITECTURES["linear"](mean=50.0, std=25.0)
    rescale = model.layers[0]
    out = np.asarray(rescale(np.array([[50.0, 75.0, 0.0]], dtype=np.float32)))
    np.testing.assert_allclose(out, [[0.0, 1.0, -2.0]], atol=1e-6)


def test_scaled_dropout_changes_the_rates_and_nothing_else() -> None:
    net, scaled = (ARCHITECTURES["conv_batchnorm_dropout"]() for _ in range(2))
    with_dropout_scaled(scaled, 0.5)
    assert [layer.rate for layer in scaled.layers if isinstance(layer, keras.layers.Dropout)] == [0.25, 0.3]
    assert scaled.count_params() == net.count_params()
    with pytest.raises(ValueError, match="keep it 0-1"):
        with_dropout_scaled(net, 2.0)
