"""Load MNIST from Keras's download, a Keras-layout `.npz`, or a folder of the original IDX files.

Every way in ends in the same checks, so a bad file stops with one `DataError` that says what is
wrong and how to fix it, instead of a traceback from deep inside NumPy or Keras.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_contract import IMAGE_SIDE, NUM_CLASSES

DATA_ENV = "MNIST_DATA"  # environment variable naming a data file when --data is not given
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {  # array name -> file name of the original distribution, without ".gz"
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IDX_UBYTE_MAGIC = {3: 2051, 1: 2049}  # number of dimensions -> magic number of a uint8 IDX file


class DataError(Exception):
    """The data could not be read or is not MNIST-shaped; the message says which and what to do."""


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays, where they came from, and a hash that identifies the source."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    sha256: str

    def limited(self, train_images: int | None) -> Mnist:
        """The same data with only the first `train_images` training images (for quick runs)."""
        if train_images is None:
            return self
        if train_images < 1:
            raise DataError(f"--limit must be at least 1, got {train_images}")
        return Mnist(
            self.x_train[:train_images],
            self.y_train[:train_images],
            self.x_test,
            self.y_test,
            self.source,
            self.sha256,
        )

    def holdout(self, validation_images: int) -> Mnist:
        """The last `validation_images` training images in place of the test set.

        For choosing a recipe without looking at the test set: the test images stay untouched
        until the chosen recipe is measured on them.
        """
        if not 0 < validation_images < len(self.x_train):
            raise DataError(f"a holdout needs 1 to {len(self.x_train) - 1} images, got {validation_images}")
        keep = len(self.x_train) - validation_images
        return Mnist(
            self.x_train[:keep],
            self.y_train[:keep],
            self.x_train[keep:],
            self.y_train[keep:],
            f"{self.source} (last {validation_images:,} training images held out)",
            self.sha256,
        )


def load_mnist(path: str | os.PathLike[str] | None = None) -> Mnist:
    """Load MNIST from `path`, else from $MNIST_DATA, else through Keras's download."""
    chosen = path if path is not None else os.environ.get(DATA_ENV) or None
    digest = hashlib.sha256()  # fed with the bytes as they are read, so no file is read twice
    if chosen is None:
        arrays, source = _download_with_keras()
        digest.update(source.read_bytes() if source.is_file() else b"")
    else:
        source = Path(chosen)
        if source.is_dir():
            arrays = _read_idx_folder(source, digest)
        elif source.is_file():
            arrays = _read_npz(source, digest)
        else:
            raise DataError(
                f"MNIST data not found at '{source}': give a Keras-layout .npz file or a folder "
                f"with the four IDX files (--data PATH or ${DATA_ENV})"
            )
    _validate(arrays, str(source))
    return Mnist(**arrays, source=str(source), sha256=digest.hexdigest())


def _download_with_keras() -> tuple[dict[str, np.ndarray], Path]:
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # network errors come in many types; all mean the same here
        raise DataError(
            f"could not download MNIST through Keras ({error}); without internet, pass a local "
            f"copy with --data PATH or ${DATA_ENV}"
        ) from error
    cached = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "mnist.npz"
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return arrays, cached


def _read_npz(path: Path, digest: hashlib._Hash) -> dict[str, np.ndarray]:
    try:
        raw = path.read_bytes()
        digest.update(raw)
        with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(
                    f"'{path}' lacks the arrays {', '.join(missing)}: expected the Keras MNIST "
                    f"layout with keys {', '.join(NPZ_KEYS)}"
                )
            return {key: archive[key] for key in NPZ_KEYS}
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(
            f"'{path}' is not a readable .npz file ({error}); it may be truncated or of another "
            f"format: download it again or point --data at the IDX folder"
        ) from error


def _read_idx_folder(folder: Path, digest: hashlib._Hash) -> dict[str, np.ndarray]:
    arrays = {}
    for key, name in IDX_FILES.items():
        candidates = [folder / name, folder / f"{name}.gz"]
        found = next((candidate for candidate in candidates if candidate.is_file()), None)
        if found is None:
            raise DataError(f"'{folder}' has no {name} (or {name}.gz): expected the four MNIST IDX files")
        arrays[key] = read_idx(found, digest)
    return arrays


def read_idx(path: Path, digest: hashlib._Hash | None = None) -> np.ndarray:
    """Read one uint8 IDX file (gzipped or not), checking its header against its length."""
    try:
        stored = path.read_bytes()
        if digest is not None:
            digest.update(stored)
        raw = gzip.decompress(stored) if path.suffix == ".gz" else stored
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise DataError(f"'{path}' could not be read ({error}); download it again") from error
    if len(raw) < 4:
        raise DataError(f"'{path}' is too short to be an IDX file ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    dimensions = raw[3]
    if IDX_UBYTE_MAGIC.get(dimensions) != magic:
        raise DataError(
            f"'{path}' has magic number {magic}, expected {IDX_UBYTE_MAGIC[3]} (images) or "
            f"{IDX_UBYTE_MAGIC[1]} (labels): it is not an MNIST IDX file"
        )
    header_end = 4 + 4 * dimensions
    if len(raw) < header_end:
        raise DataError(f"'{path}' is truncated inside its header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    expected = int(np.prod(shape))
    if len(raw) - header_end != expected:
        raise DataError(
            f"'{path}' holds {len(raw) - header_end} bytes of data but its header promises "
            f"{expected} for shape {shape}: the file is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_end).reshape(shape)


def _validate(arrays: dict[str, np.ndarray], source: str) -> None:
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise DataError(f"x_{split} in '{source}' has shape {images.shape}, expected (N, 28, 28)")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(
                f"y_{split} in '{source}' has shape {labels.shape}, expected ({len(images)},) to match x_{split}"
            )
        if len(images) == 0:
            raise DataError(f"x_{split} in '{source}' is empty")
        if images.dtype != np.uint8:
            raise DataError(f"x_{split} in '{source}' has dtype {images.dtype}, expected uint8 pixels")
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"y_{split} in '{source}' has dtype {labels.dtype}, expected integers")
        if labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise DataError(
                f"y_{split} in '{source}' has labels from {labels.min()} to {labels.max()}, expected digits 0-9"
            )
