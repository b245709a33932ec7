"""Pixel arrays from JSON and .npy files on their own: shapes, types, ranges, and every refusal."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

from service.invalid_input import InvalidInput
from service.pixel_arrays import images_to_batch, read_npy


def test_arrays_accept_grids_and_flat_rows() -> None:
    grid = np.arange(784, dtype=np.float32).reshape(28, 28) % 256
    batch = images_to_batch([grid.tolist(), grid.ravel().astype(int).tolist()[:784]], max_images=8)
    assert batch.shape == (2, 28, 28)
    flat = images_to_batch([grid.ravel().tolist()] * 3, max_images=8)
    np.testing.assert_array_equal(flat[0], grid)


def test_arrays_accept_keras_one_channel_layout() -> None:
    """The tutorial's x_test.reshape(-1, 28, 28, 1), alone or mixed with grids."""
    grid = np.arange(784, dtype=np.float32).reshape(28, 28) % 256
    keras = images_to_batch(grid.reshape(1, 28, 28, 1).tolist() * 2, max_images=8)
    np.testing.assert_array_equal(keras, np.stack([grid, grid]))
    mixed = images_to_batch([grid.reshape(28, 28, 1).tolist(), grid.tolist()], max_images=8)
    np.testing.assert_array_equal(mixed[0], mixed[1])


@pytest.mark.parametrize(
    ("images", "message", "status"),
    [
        ([], "empty", 400),
        ([[1, 2, 3]], "shape", 400),
        ([[[0] * 28] * 27], "shape", 400),
        ([[[[0, 0]] * 28] * 28], "shape", 400),
        ([[["a"] * 28] * 28], "numbers 0-255", 400),
        ([[[float("nan")] * 28] * 28], "NaN or infinite", 400),
        ([[[float("inf")] * 28] * 28], "NaN or infinite", 400),
        ([[[256] * 28] * 28], "within 0-255", 400),
        ([[[-1] * 28] * 28], "within 0-255", 400),
        ([[[0] * 28] * 28, [[0] * 28] * 27], "image 1 has shape", 400),
        ([[[0] * 28] * 28] * 5, "more than the limit", 413),
        ([[[0.5] * 28] * 28], "multiply images scaled to 0-1", 422),
        ([[[0] * 14 + [1] * 14] * 28], "0/1 bitmaps, by 255", 422),
        ([[[0] * 28] * 28, [[255] * 28] * 28], "image 1 is dark on a light background", 422),
    ],
)
def test_bad_arrays_name_the_problem(images: list, message: str, status: int) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        images_to_batch(images, max_images=4)
    assert caught.value.status == status


def test_faint_images_beside_others_and_ink_touching_an_edge_are_read() -> None:
    """The two refusals above are for the request and the background as a whole, not for a
    blank image in a batch or a digit that runs off the edge."""
    digit = np.zeros((28, 28))
    digit[:, 12:16] = 255  # a 1 from top to bottom
    faint = np.full((28, 28), 0.5)
    stray = np.zeros((28, 28))
    stray[0, 0] = 0.02
    noise = np.random.default_rng(0).integers(0, 256, (28, 28))
    assert images_to_batch([digit.tolist(), faint.tolist(), noise.tolist()], max_images=4).shape == (3, 28, 28)
    assert images_to_batch([stray.tolist()], max_images=4).shape == (1, 28, 28)  # blank, not scaled


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def test_npy_round_trip() -> None:
    digits = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(read_npy(npy_bytes(digits), max_images=8), digits.astype(np.float32))
    assert read_npy(npy_bytes(digits[0]), max_images=8).shape == (1, 28, 28)
    assert read_npy(npy_bytes(digits.reshape(5, 784)), max_images=8).shape == (5, 28, 28)
    np.testing.assert_array_equal(read_npy(npy_bytes(digits[..., np.newaxis]), max_images=8), digits)
    assert read_npy(npy_bytes(digits[0, ..., np.newaxis]), max_images=8).shape == (1, 28, 28)


def test_npy_with_objects_is_never_unpickled() -> None:
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    payload = npy_bytes(np.array([Boom()], dtype=object), allow_pickle=True)
    with pytest.raises(InvalidInput, match="dtype object"):
        read_npy(payload, max_images=8)


def test_npy_header_that_lies_about_its_size() -> None:
    data = npy_bytes(np.zeros((2, 28, 28), np.uint8)).replace(b"(2, 28, 28)", b"(9999999, 28, 28)")
    with pytest.raises(InvalidInput, match="truncated or corrupt"):
        read_npy(data, max_images=8)


def test_npy_that_is_not_npy() -> None:
    with pytest.raises(InvalidInput, match="not a .npy file") as caught:
        read_npy(b"GIF89a not numpy", max_images=8)
    assert caught.value.status == 415


def test_npy_header_whose_shape_product_overflows_int64_is_refused() -> None:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
    header += " " * (63 - len(header) % 64) + "\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
    with pytest.raises(InvalidInput, match="truncated or corrupt"):
        read_npy(data, max_images=64)


def test_a_value_just_over_255_is_refused_before_float32_rounds_it() -> None:
    images = np.full((1, 28, 28), 255.0)
    images[0, 0, 0] = 255.00000000000003  # float32 would make it 255
    with pytest.raises(InvalidInput, match="within 0-255"):
        images_to_batch(images.tolist(), max_images=64)
