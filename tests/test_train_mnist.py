"""Integration: the final net learns real MNIST (first 5,000 images, one epoch) to 95%."""

from __future__ import annotations

import pytest

MIN_ACCURACY = 0.95


@pytest.mark.mnist
def test_one_epoch_on_5000_images_reaches_95_percent(trained_model: dict) -> None:
    print(f"test accuracy after one epoch on 5,000 images: {trained_model['test_accuracy']:.2%}")
    assert trained_model["test_accuracy"] >= MIN_ACCURACY
    assert trained_model["parameters"] == 340_700
