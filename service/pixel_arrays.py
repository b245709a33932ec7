"""Numeric input: pixel arrays from JSON and `.npy` files -> a validated (N, 28, 28) float32 batch.

Pure functions on NumPy arrays, so every rule is testable without a server; the image files'
pipeline is `service.preprocess`.
"""

from __future__ import annotations

import io
import math

import numpy as np

from model_contract import IMAGE_SIDE, PIXEL_MAX
from service.invalid_input import InvalidInput

# An image whose edge pixels average above this is dark ink on a light page (MNIST's edges are 0;
# uniform noise averages 128 +- 7 there): the model would read it as a light blob and answer anyway.
LIGHT_EDGE_MEAN = 192
# A request whose values all lie within 0-1 is taken for images scaled to 0-1 (or 0/1 bitmaps) once
# one of them has this many pixels of ink: a digit has a hundred or more, a stray faint pixel is not one.
SCALED_INK_PIXELS = 10
# One image's accepted layouts: a grid, a flat row, or Keras's grid with one channel (the tutorial's
# x_train.reshape(-1, 28, 28, 1)); every one of them becomes a 28x28 grid.
IMAGE_SHAPES = ((IMAGE_SIDE, IMAGE_SIDE), (IMAGE_SIDE * IMAGE_SIDE,), (IMAGE_SIDE, IMAGE_SIDE, 1))
NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def images_to_batch(images: object, max_images: int) -> np.ndarray:
    """Validate pixel arrays (N x 28 x 28 or N x 784, 0-255) and return them as float32."""
    try:
        batch = np.asarray(images)
    except (ValueError, TypeError):  # ragged: grids mixed with flat rows, or a misshapen image
        batch = _stack_one_by_one(images)
    return validate_pixel_batch(batch, max_images)


def _stack_one_by_one(images: object) -> np.ndarray:
    """Stack images of mixed form (28x28 grids and flat rows), naming the first misshapen one."""
    if not isinstance(images, list):
        raise InvalidInput("images must be a list of 28x28 arrays or 784-long rows")
    stacked = []
    for index, image in enumerate(images):
        try:
            array = np.asarray(image)
        except (ValueError, TypeError) as error:
            raise InvalidInput(f"image {index} is not a rectangular array of numbers ({error})") from error
        if array.shape not in IMAGE_SHAPES:
            raise InvalidInput(f"image {index} has shape {array.shape}; expected 28x28, 28x28x1 or a flat row of 784")
        stacked.append(array.reshape(IMAGE_SIDE, IMAGE_SIDE))
    return np.stack(stacked)


def validate_pixel_batch(batch: np.ndarray, max_images: int) -> np.ndarray:
    """Check shape, type and range of a numeric batch; every accepted layout becomes N x 28 x 28."""
    if batch.size == 0:
        raise InvalidInput("images is empty: send at least one image")
    if batch.dtype.kind not in "iuf":
        raise InvalidInput(
            f"images must hold numbers 0-255, got values of type {batch.dtype} "
            "(strings, booleans, nulls and nested objects are not pixels)"
        )
    if batch.ndim < 2 or batch.shape[1:] not in IMAGE_SHAPES:
        raise InvalidInput(
            f"images have shape {batch.shape}; expected a list of 28x28 arrays, shape (N, 28, 28), "
            "of flat 784-long rows, shape (N, 784), or Keras's (N, 28, 28, 1)"
        )
    batch = batch.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    if len(batch) > max_images:
        raise InvalidInput(
            f"{len(batch)} images in one request, more than the limit of {max_images}: split the request",
            status=413,
        )
    # Range checked in the values as sent: float32 would round 255.00000000000003 to 255.
    if not np.isfinite(batch).all():
        raise InvalidInput("images contain NaN or infinite values; pixels must be finite numbers 0-255")
    low, high = batch.min(), batch.max()
    if low < 0 or high > PIXEL_MAX:
        raise InvalidInput(f"pixel values range from {float(low):g} to {float(high):g}; they must lie within 0-255")
    if 0 < high <= 1 and np.count_nonzero(batch, axis=(1, 2)).max() >= SCALED_INK_PIXELS:  # near-black to the model
        raise InvalidInput(
            f"every pixel value lies between 0 and 1 (the highest is {float(high):g}), but pixels are grey levels "
            "0-255: multiply images scaled to 0-1, or 0/1 bitmaps, by 255",
            status=422,
        )
    _refuse_light_backgrounds(batch)
    return batch.astype(np.float32, copy=False)


def border_frame(pixels: np.ndarray, band_y: int = 1, band_x: int = 1) -> np.ndarray:
    """The outer rows and columns of each image (the last two axes), flattened per image: where
    the background shows. Top and bottom bands, then left and right (corners in both)."""
    lead = pixels.shape[:-2]
    bands = (pixels[..., :band_y, :], pixels[..., -band_y:, :], pixels[..., :band_x], pixels[..., -band_x:])
    return np.concatenate([band.reshape(*lead, -1) for band in bands], axis=-1)


def _refuse_light_backgrounds(batch: np.ndarray) -> None:
    """Arrays go to the model as they are, so one drawn the usual way round (dark on white) gets
    a wrong digit; image files are inverted as needed by `service.preprocess` instead."""
    edge_means = border_frame(batch).mean(axis=-1, dtype=np.float64)
    light = np.flatnonzero(edge_means > LIGHT_EDGE_MEAN)
    if light.size:
        index = int(light[0])
        raise InvalidInput(
            f"image {index} is dark on a light background (its edge pixels average {edge_means[index]:.0f} of 255), "
            "but arrays are read as MNIST's are, light ink (255) on black (0): send 255 minus the pixels, "
            "or the picture itself to /predict_image, which reads either",
            status=422,
        )


def read_npy(data: bytes, max_images: int) -> np.ndarray:
    """A .npy file's array, read straight from its bytes after the header is checked.

    Only numeric dtypes are accepted and the data is viewed with `np.frombuffer`, so nothing is
    ever unpickled, and a header that promises more data than the file holds allocates nothing.
    """
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = NPY_HEADER_READERS.get(version)
        if read_header is None:
            raise ValueError(f"unsupported .npy format version {version}")
        shape, fortran_order, dtype = read_header(stream)
    except ValueError as error:
        raise InvalidInput(f"not a .npy file ({error}); save the array with numpy.save", status=415) from error
    if dtype.hasobject or dtype.kind not in "iuf":
        raise InvalidInput(f"the .npy array has dtype {dtype}; send numbers (uint8 or float32)")
    count = math.prod(shape)  # Python integers: a hostile header cannot overflow them to a small number
    if count * dtype.itemsize != len(data) - stream.tell():
        raise InvalidInput(
            f"the .npy header promises shape {shape} ({count * dtype.itemsize:,} bytes) but the file holds "
            f"{len(data) - stream.tell():,}: it is truncated or corrupt"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=stream.tell())
    array = array.reshape(shape, order="F" if fortran_order else "C")
    if array.shape in IMAGE_SHAPES:  # one image without its batch axis
        array = array[np.newaxis]
    return validate_pixel_batch(array, max_images)
