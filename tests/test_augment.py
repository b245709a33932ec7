"""The input pipeline: augmentation keeps shapes, dtypes and labels, and really moves pixels."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from training.augment import (
    AugmentConfig,
    augment_batch,
    elastic_displacements,
    other_pens,
    random_affine_matrices,
    training_dataset,
    warp_nearest,
)


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


def test_one_resampling_for_affine_and_elastic_matches_the_affine_op_when_the_field_is_zero() -> None:
    images, _ = blocky_digits(32)
    pixels = tf.constant(images, tf.float32)
    tf.random.set_seed(3)
    transforms = random_affine_matrices(32, AugmentConfig(rotation_degrees=15, zoom=0.2, shift_pixels=2))
    fused = warp_nearest(pixels, transforms, tf.zeros([32, 28, 28, 2])).numpy()
    reference = warp_nearest(pixels, transforms).numpy()  # TensorFlow's projective-transform op
    np.testing.assert_array_equal(fused, reference)


def test_elastic_field_is_smooth_and_within_its_strength() -> None:
    tf.random.set_seed(4)
    field = elastic_displacements(64, AugmentConfig(elastic_pixels=2.0)).numpy()
    assert field.shape == (64, 28, 28, 2)
    root_mean_square = np.sqrt((field**2).mean(axis=(1, 2, 3)))
    assert root_mean_square.max() <= 2.0 + 1e-4 and root_mean_square.max() > 1.5  # up to 2 px, some near it
    neighbour_step = np.abs(np.diff(field, axis=1)).mean(axis=(1, 2, 3))
    assert (neighbour_step < 0.3 * root_mean_square + 1e-6).all()  # smooth: white noise would step ~1.1x


def test_elastic_distortion_moves_strokes_but_keeps_pixel_values_and_labels() -> None:
    images, labels = blocky_digits(64)
    tf.random.set_seed(5)
    elastic_only = AugmentConfig(rotation_degrees=0, zoom=0, shear_degrees=0, elastic_pixels=1.5)
    out = augment_batch(tf.constant(images, tf.float32), elastic_only).numpy()
    assert set(np.unique(out)) <= set(np.unique(images))  # nearest neighbour: no new grey levels
    assert np.mean([(a != b).any() for a, b in zip(out, images, strict=True)]) > 0.8
    ink = out.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert 0.4 < ink.min() and ink.max() < 2.0 and abs(ink.mean() - 1) < 0.15  # stretched or squeezed, not lost
    rows = out.sum(axis=2).argmax(axis=1)
    assert np.mean(np.abs(rows - (labels + 6.5)) <= 3) > 0.9


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
