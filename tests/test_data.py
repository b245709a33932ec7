"""The loaders: Keras-layout .npz, IDX folders (plain and gzipped), and their error messages."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from training.data import DATA_ENV, IDX_FILES, DataError, load_mnist, read_idx


def small_arrays(train: int = 20, test: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, test).astype(np.uint8),
    }


def write_npz(path: Path, **changes: np.ndarray) -> Path:
    arrays = {**small_arrays(), **changes}
    np.savez_compressed(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def idx_bytes(array: np.ndarray) -> bytes:
    magic = (2048 + array.ndim).to_bytes(4, "big")
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return magic + dims + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, gzipped: bool) -> dict[str, np.ndarray]:
    arrays = small_arrays()
    for key, name in IDX_FILES.items():
        raw = idx_bytes(arrays[key])
        if gzipped:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return arrays


def test_npz_loads_arrays_and_hash(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "mnist.npz")
    data = load_mnist(path)
    assert data.x_train.shape == (20, 28, 28) and data.y_test.shape == (10,)
    assert len(data.sha256) == 64


def test_environment_variable_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_ENV, str(write_npz(tmp_path / "mnist.npz")))
    assert load_mnist().source.endswith("mnist.npz")


@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_folder_matches_the_arrays(tmp_path: Path, gzipped: bool) -> None:
    arrays = write_idx_folder(tmp_path, gzipped)
    data = load_mnist(tmp_path)
    np.testing.assert_array_equal(data.x_train, arrays["x_train"])
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])


def test_limit_keeps_the_first_training_images(tmp_path: Path) -> None:
    data = load_mnist(write_npz(tmp_path / "mnist.npz"))
    limited = data.limited(5)
    np.testing.assert_array_equal(limited.x_train, data.x_train[:5])
    assert len(limited.x_test) == len(data.x_test)


def test_holdout_scores_on_the_last_training_images_never_the_test_set(tmp_path: Path) -> None:
    data = load_mnist(write_npz(tmp_path / "mnist.npz"))
    held = data.holdout(4)
    np.testing.assert_array_equal(held.x_train, data.x_train[:-4])
    np.testing.assert_array_equal(held.x_test, data.x_train[-4:])
    np.testing.assert_array_equal(held.y_test, data.y_train[-4:])
    for size in (0, len(data.x_train)):
        with pytest.raises(DataError, match="holdout needs"):
            data.holdout(size)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"x_train": np.zeros((20, 28, 27), np.uint8)}, "expected (N, 28, 28)"),
        ({"x_train": np.zeros((20, 28, 28), np.float32)}, "expected uint8"),
        ({"y_train": np.full(20, 10, np.uint8)}, "expected digits 0-9"),
        ({"y_test": np.zeros(9, np.uint8)}, "to match x_test"),
        ({"y_test": None}, "lacks the arrays y_test"),
    ],
)
def test_malformed_npz_names_the_problem(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_mnist(write_npz(tmp_path / "bad.npz", **changes))


def test_truncated_npz_is_a_data_error(tmp_path: Path) -> None:
    good = write_npz(tmp_path / "good.npz").read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="truncated"):
        load_mnist(truncated)


def test_missing_path_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="--data PATH"):
        load_mnist(tmp_path / "nowhere.npz")


def test_truncated_idx_file(tmp_path: Path) -> None:
    path = tmp_path / "images"
    path.write_bytes(idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-10])
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(path)


def test_idx_with_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "images"
    path.write_bytes(b"\x00\x00\x09\x03" + b"\x00" * 20)
    with pytest.raises(DataError, match="magic number"):
        read_idx(path)


def test_command_line_prints_one_line_for_bad_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from training.cli import main

    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    assert main(["--data", str(tmp_path / "bad.npz"), "--no-save"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and "\n" not in error
