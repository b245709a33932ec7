"""Test-time views: the stored model answers the mean of the net's logits over moved copies."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from training.shifted_views import VIEWS, averaged_over_views


def moved_by_numpy(images: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """The images moved down by `rows` and right by `columns`, the space left filled with zeros."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    return padded[:, 1 - rows : 29 - rows, 1 - columns : 29 - columns]


def test_views_answer_the_mean_of_the_net_over_copies_moved_by_a_pixel() -> None:
    keras.utils.set_random_seed(3)
    net = keras.Sequential([keras.Input(shape=(28, 28)), layers.Flatten(), layers.Dense(10)], name="net")
    images = np.random.default_rng(0).uniform(0, 255, size=(4, 28, 28)).astype(np.float32)
    for views in (5, 9):
        expected = np.mean([net.predict(moved_by_numpy(images, *move), verbose=0) for move in VIEWS[views]], axis=0)
        np.testing.assert_allclose(averaged_over_views(net, views).predict(images, verbose=0), expected, rtol=1e-5)
    assert moved_by_numpy(images, 1, 0)[:, 1:, :].tolist() == images[:, :-1, :].tolist()  # down means down


def test_one_view_is_the_net_itself_and_other_counts_are_refused() -> None:
    net = keras.Sequential([keras.Input(shape=(28, 28)), layers.Flatten(), layers.Dense(10)])
    assert averaged_over_views(net, 1) is net
    with pytest.raises(ValueError, match="views must be one of 1, 5, 9"):
        averaged_over_views(net, 4)
