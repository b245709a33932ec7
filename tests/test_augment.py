"""The input pipeline: augmentation keeps shapes, dtypes and labels, and really moves pixels."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from training.augment import AugmentConfig, augment_batch, other_pens, training_dataset


def blocky_digits(count: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Bars of different positions: easy to tell apart, and asymmetric, so warps show."""
    images = np.zeros((count, 28, 28), np.uint8)
    labels = np.arange(count, dtype=np.uint8) % 10
    for index, label in enumerate(labels):
        images[index, 4 + label : 10 + label, 6:22] = 255
    return images, labels


def test_identity_config_returns_the_same_images() -> None:
    images, _ = blocky_digits(8)
    still = AugmentConfig(rotation_degrees=0, zoom=0, shear_degrees=0, shift_pixels=0)
    out = augment_batch(tf.constant(images, tf.float32), still).numpy()
    np.testing.assert_array_equal(out, images.astype(np.float32))


def test_augmentation_changes_pixels_but_keeps_their_values() -> None:
    images, _ = blocky_digits(32)
    tf.random.set_seed(0)
    out = augment_batch(tf.constant(images, tf.float32), AugmentConfig(rotation_degrees=10, zoom=0.1)).numpy()
    assert out.shape == images.shape and out.dtype == np.float32
    assert not np.array_equal(out, images)
    # nearest-neighbour sampling invents no new grey levels
    assert set(np.unique(out)) <= {0.0, 255.0}
    # a 10-degree, 10% warp keeps the bar mostly where it was
    assert abs(out.sum() / images.astype(float).sum() - 1) < 0.3


def test_dataset_keeps_every_label_with_its_image() -> None:
    images, labels = blocky_digits(64)
    batches = training_dataset(images, labels, batch_size=16, seed=1, augment=AugmentConfig())
    seen_images, seen_labels = zip(*[(x.numpy(), y.numpy()) for x, y in batches], strict=True)
    seen_images, seen_labels = np.concatenate(seen_images), np.concatenate(seen_labels)
    assert seen_images.shape == (64, 28, 28) and seen_images.dtype == np.float32
    assert sorted(seen_labels.tolist()) == sorted(labels.tolist())
    # the bar's row still identifies the label after a small warp
    rows = seen_images.sum(axis=2).argmax(axis=1)
    assert np.mean(np.abs(rows - (seen_labels + 6.5)) <= 3) > 0.9


def test_endless_dataset_shows_every_image_once_per_pass_in_a_new_order() -> None:
    count, batch_size = 24, 8
    images = np.repeat(np.arange(count, dtype=np.uint8), 28 * 28).reshape(count, 28, 28)  # pixel = index
    batches = training_dataset(images, np.arange(count) % 10, batch_size, seed=1, augment=None, endless=True)
    order = np.concatenate([x.numpy()[:, 0, 0] for x, _ in batches.take(3 * count // batch_size)])
    passes = order.reshape(3, count)
    for shown in passes:
        assert sorted(shown.tolist()) == list(range(count))
    assert not np.array_equal(passes[0], passes[1]) and not np.array_equal(passes[1], passes[2])


def test_other_pens_grow_wear_and_soften_strokes_within_their_range() -> None:
    images, _ = blocky_digits(64)
    pixels = tf.constant(images, tf.float32)
    tf.random.set_seed(1)
    changed = other_pens(pixels, AugmentConfig(stroke_change=1.0, blur=0.0)).numpy()
    ink = changed.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert ink.min() < 0.9 and ink.max() > 1.1  # some strokes worn, some grown
    bar = images > 0
    grown_bar = tf.nn.max_pool2d(pixels[..., None], 3, 1, "SAME").numpy()[..., 0] > 0
    assert not (changed[~grown_bar] > 0).any()  # never more than one pixel beyond the stroke
    assert (changed[bar] > 0).mean() > 0.5  # wearing thins a stroke, it does not erase it
    softened = other_pens(pixels, AugmentConfig(stroke_change=0.0, blur=1.0)).numpy()
    assert len(np.unique(softened)) > 2 and 0 <= softened.min() and softened.max() <= 255
    np.testing.assert_allclose(softened.sum(axis=(1, 2)), images.sum(axis=(1, 2)), rtol=0.02)  # blur keeps the ink
