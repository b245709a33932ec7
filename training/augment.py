"""The training input pipeline: shuffled `tf.data` batches with on-the-fly affine augmentation.

The tutorial used Keras's old `ImageDataGenerator`: one random affine per image (rotation, zoom,
shear), sampled with the nearest neighbour. Chaining Keras 3's RandomRotation, RandomZoom and
RandomShear instead resamples each image three times with bilinear blur and costs accuracy, so we
compose the three into one matrix and warp each batch with a single projective-transform op.
Augmentation lives here, in the pipeline, and never inside the saved model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from model_contract import IMAGE_SIDE


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random affine, in the tutorial's `ImageDataGenerator` units (shear in degrees)."""

    rotation_degrees: float = 10.0
    zoom: float = 0.1  # each axis scaled by a factor in [1 - zoom, 1 + zoom]
    shear_degrees: float = 0.1
    shift_pixels: float = 0.0  # the tutorial did not shift; longer recipes may
    # Other pens and cameras (0: off, as in the tutorial). Each image's strokes are grown or worn
    # by a random part, up to this share, of one pixel (a broad or a fine pen)...
    stroke_change: float = 0.0
    # ... and a random part, up to this share, of a Gaussian blur of one pixel blended in (focus).
    blur: float = 0.0
    # Elastic distortion (Simard et al. 2003): every pixel's source moved by a smooth random field
    # whose root mean square is a random part, up to this many pixels, per image (0: off).
    elastic_pixels: float = 0.0


def random_affine_matrices(batch: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """One flattened 8-number projective transform per image, mapping output to input pixels."""
    angle = tf.random.uniform([batch], -1.0, 1.0) * math.radians(config.rotation_degrees)
    zoom_x = tf.random.uniform([batch], 1.0 - config.zoom, 1.0 + config.zoom)
    zoom_y = tf.random.uniform([batch], 1.0 - config.zoom, 1.0 + config.zoom)
    shear_limit = math.tan(math.radians(config.shear_degrees))
    shear = tf.random.uniform([batch], -shear_limit, shear_limit)
    shift = tf.random.uniform([batch, 2], -config.shift_pixels, config.shift_pixels)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Inverse map M = rotation @ shear @ diag(1/zoom), about the image centre.
    m00, m01 = cos / zoom_x, (cos * shear - sin) / zoom_y
    m10, m11 = sin / zoom_x, (sin * shear + cos) / zoom_y
    centre = (IMAGE_SIDE - 1) / 2.0
    offset_x = centre - m00 * centre - m01 * centre + shift[:, 0]
    offset_y = centre - m10 * centre - m11 * centre + shift[:, 1]
    zeros = tf.zeros([batch])
    return tf.stack([m00, m01, offset_x, m10, m11, offset_y, zeros, zeros], axis=1)


def gaussian_taps(sigma: float, radius: int) -> np.ndarray:
    """A one-dimensional Gaussian of `sigma` pixels over 2 * radius + 1 pixels, summing to 1."""
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


ELASTIC_SMOOTHNESS = 4.0  # the displacement field's Gaussian sigma in pixels, Simard et al.'s 4
ELASTIC_KERNEL = gaussian_taps(ELASTIC_SMOOTHNESS, radius=8)


def elastic_displacements(batch: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """(B, 28, 28, 2) source offsets (x, y) in pixels: uniform noise smoothed by a Gaussian of
    ELASTIC_SMOOTHNESS pixels, scaled per image to a root mean square of up to `elastic_pixels`."""
    noise = tf.random.uniform([2 * batch, IMAGE_SIDE, IMAGE_SIDE, 1], -1.0, 1.0)
    smooth = tf.nn.conv2d(noise, ELASTIC_KERNEL.reshape(-1, 1, 1, 1), 1, "SAME")
    smooth = tf.nn.conv2d(smooth, ELASTIC_KERNEL.reshape(1, -1, 1, 1), 1, "SAME")
    field = tf.transpose(tf.reshape(smooth, [2, batch, IMAGE_SIDE, IMAGE_SIDE]), [1, 2, 3, 0])
    root_mean_square = tf.sqrt(tf.reduce_mean(tf.square(field), axis=[1, 2, 3], keepdims=True))
    strength = tf.random.uniform([batch, 1, 1, 1], 0.0, config.elastic_pixels)
    return field / root_mean_square * strength


def warp_nearest(images: tf.Tensor, transforms: tf.Tensor, displacements: tf.Tensor | None = None) -> tf.Tensor:
    """(B, 28, 28) warped by affine `transforms` (random_affine_matrices' layout), nearest
    neighbour, 0 outside. With `displacements` each output pixel's source moves further by them:
    the affine and the elastic field in one resampling, with the same answer as TensorFlow's
    projective-transform op gives the affine alone, which serves when there is no field."""
    if displacements is None:
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=images[..., tf.newaxis],
            transforms=transforms,
            output_shape=tf.constant([IMAGE_SIDE, IMAGE_SIDE]),
            fill_value=0.0,
            interpolation="NEAREST",
            fill_mode="CONSTANT",
        )[..., 0]
    batch = tf.shape(images)[0]
    rows, columns = tf.meshgrid(
        tf.range(IMAGE_SIDE, dtype=tf.float32), tf.range(IMAGE_SIDE, dtype=tf.float32), indexing="ij"
    )
    matrix = transforms[:, :, tf.newaxis, tf.newaxis]
    source_x = matrix[:, 0] * columns + matrix[:, 1] * rows + matrix[:, 2] + displacements[..., 0]
    source_y = matrix[:, 3] * columns + matrix[:, 4] * rows + matrix[:, 5] + displacements[..., 1]
    column, row = tf.cast(tf.round(source_x), tf.int32), tf.cast(tf.round(source_y), tf.int32)
    inside = (column >= 0) & (column < IMAGE_SIDE) & (row >= 0) & (row < IMAGE_SIDE)
    flat_index = tf.clip_by_value(row, 0, IMAGE_SIDE - 1) * IMAGE_SIDE + tf.clip_by_value(column, 0, IMAGE_SIDE - 1)
    picked = tf.gather(tf.reshape(images, [batch, -1]), tf.reshape(flat_index, [batch, -1]), batch_dims=1)
    return tf.where(inside, tf.reshape(picked, tf.shape(images)), 0.0)


_BLUR_TAPS = gaussian_taps(1.0, radius=2)  # sigma one pixel, over 5 pixels
BLUR_KERNEL = np.outer(_BLUR_TAPS, _BLUR_TAPS)[..., np.newaxis, np.newaxis]


def other_pens(images: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """(B, 28, 28) -> strokes grown or worn and softened by a random amount per image, within the
    config's ranges: grey-level dilation and erosion over 3x3, and a one-pixel Gaussian blur."""
    batch = tf.shape(images)[0]
    pixels = images[..., tf.newaxis]
    change = tf.random.uniform([batch, 1, 1, 1], -config.stroke_change, config.stroke_change)
    grown = tf.nn.max_pool2d(pixels, 3, 1, "SAME")
    worn = -tf.nn.max_pool2d(-pixels, 3, 1, "SAME")
    pixels = pixels + tf.nn.relu(change) * (grown - pixels) + tf.nn.relu(-change) * (worn - pixels)
    softened = tf.nn.conv2d(pixels, BLUR_KERNEL, 1, "SAME")
    pixels += tf.random.uniform([batch, 1, 1, 1], 0, config.blur) * (softened - pixels)
    return pixels[..., 0]


def augment_batch(images: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """Warp a (B, 28, 28) batch with one random affine per image, and an elastic field where the
    config asks (background fills with 0), then, where it asks, change its pens."""
    batch = tf.shape(images)[0]
    transforms = random_affine_matrices(batch, config)
    field = elastic_displacements(batch, config) if config.elastic_pixels else None
    warped = warp_nearest(images, transforms, field)
    return other_pens(warped, config) if config.stroke_change or config.blur else warped


def training_dataset(
    images: np.ndarray,
    targets: np.ndarray,
    batch_size: int,
    seed: int,
    augment: AugmentConfig | None,
    weights: np.ndarray | None = None,
    endless: bool = False,
) -> tf.data.Dataset:
    """Shuffled float32 batches of (image, target) or, with `weights`, (image, target, weight),
    augmented when `augment` is given: one pass, or with `endless` one pass after another, each
    shuffled anew.

    Training reads the endless form through a single iterator. Keras makes a new iterator for
    every epoch of a finite dataset, and on these 2-core machines destroying the old one
    (`RootDataset::Iterator::~Iterator`, waiting on one of its tf.data threads) stalled the process
    with both cores idle for 12-18 s at the start of about a third of all epochs (py-spy stacks and
    /proc CPU counters, TensorFlow 2.21). The repeat sits before the parallel map, so the threads
    of the map and the prefetch live for the whole fit."""
    columns = (images.astype(np.float32), targets) + (() if weights is None else (weights.astype(np.float32),))
    dataset = tf.data.Dataset.from_tensor_slices(columns)
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if endless:
        dataset = dataset.repeat()
    if augment is not None:
        dataset = dataset.map(lambda x, *rest: (augment_batch(x, augment), *rest), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
