"""Saving to the model store and loading the serving paths back gives the model's predictions."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

import model_contract as contract
from service.model_runtime import load_classifier
from training.models import conv_batchnorm_dropout
from training.store import save_to_store

RNG = np.random.default_rng(3)
PIXELS = RNG.integers(0, 256, (16, *contract.INPUT_SHAPE)).astype(np.float32)


@pytest.fixture(scope="module")
def stored_net(bentoml_home: Path):
    """A conv net fitted one step (moves its BatchNorm statistics), stored; with Keras's answers."""
    import bentoml

    keras.utils.set_random_seed(3)
    model = conv_batchnorm_dropout()
    model.compile(loss="sparse_categorical_crossentropy")
    model.fit(PIXELS, np.arange(16) % 10, epochs=1, verbose=0)
    stored = save_to_store(
        model, {contract.META_ARCHITECTURE: "conv_batchnorm_dropout"}, check_images=PIXELS, report_folder=None
    )
    return bentoml.models.get(stored.tag), model.predict(PIXELS, verbose=0)


@pytest.mark.parametrize("runtime", ["tensorflow", "openvino"])
def test_full_precision_runtimes_answer_as_keras(stored_net, runtime: str) -> None:
    reloaded, expected = stored_net
    served = load_classifier(reloaded.path, runtime=runtime, precision="full")
    assert served.precision == "f32" and served.runtime.startswith(runtime)
    np.testing.assert_allclose(served.probabilities(PIXELS), expected, rtol=1e-4, atol=1e-5)


def test_store_keeps_metadata_keras_file_and_check_batch(stored_net) -> None:
    reloaded, expected = stored_net
    assert reloaded.info.metadata[contract.META_ARCHITECTURE] == "conv_batchnorm_dropout"
    keras_file = Path(reloaded.path) / contract.KERAS_FILE
    from_keras = keras.models.load_model(keras_file, safe_mode=True).predict(PIXELS, verbose=0)
    np.testing.assert_allclose(from_keras, expected, rtol=1e-4, atol=1e-6)
    check = np.load(Path(reloaded.path) / contract.CHECK_BATCH_FILE, allow_pickle=False)
    assert check.dtype == np.uint8 and np.array_equal(check, PIXELS.astype(np.uint8))


def test_reduced_precision_serves_only_within_tolerance(stored_net, monkeypatch) -> None:
    """Where the CPU has native bf16 it serves once its check passes; a check it cannot pass keeps f32."""
    reloaded, expected = stored_net
    served = load_classifier(reloaded.path, runtime="openvino")
    if served.precision_check is None:
        pytest.skip("this CPU has no native bf16: f32 serves without a check")
    assert served.precision == ("bf16" if served.precision_check["passed"] else "f32")
    assert served.precision_check["images"] == len(PIXELS)
    tolerance = contract.REDUCED_PRECISION_TOLERANCE
    np.testing.assert_allclose(served.probabilities(PIXELS), expected, atol=tolerance)

    monkeypatch.setattr(contract, "REDUCED_PRECISION_TOLERANCE", 0.0)  # bf16 never matches f32 exactly
    strict = load_classifier(reloaded.path, runtime="openvino")
    assert strict.precision == "f32" and not strict.precision_check["passed"]
    np.testing.assert_allclose(strict.probabilities(PIXELS), expected, rtol=1e-4, atol=1e-5)


def test_auto_picks_openvino_on_cpus_and_tensorflow_for_models_without_it(
    stored_net, tmp_path: Path, monkeypatch
) -> None:
    from service.model_runtime import RuntimeUnavailable, chosen_runtime

    reloaded, _ = stored_net
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU, even on a machine that has one
    assert chosen_runtime(Path(reloaded.path)) == "openvino"
    assert chosen_runtime(tmp_path) == "tensorflow"  # stored before models were converted
    assert chosen_runtime(Path(reloaded.path), "tensorflow") == "tensorflow"
    with pytest.raises(RuntimeUnavailable, match="MNIST_RUNTIME=tensorflow"):
        load_classifier(tmp_path, runtime="openvino")
