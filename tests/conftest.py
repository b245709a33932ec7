"""Shared fixtures. Every test runs against a temporary BentoML home, never the user's store."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import model_contract as contract

TRAIN_LIMIT = 5000  # the integration run: first 5,000 MNIST training images, one epoch


def pytest_configure(config: pytest.Config) -> None:
    """Point BentoML at a fresh store before anything imports it."""
    os.environ["BENTOML_HOME"] = tempfile.mkdtemp(prefix="mnist-test-bentoml-")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")


@pytest.fixture(scope="session")
def bentoml_home() -> Path:
    return Path(os.environ["BENTOML_HOME"])


@pytest.fixture(scope="session")
def mnist():
    """Real MNIST from $MNIST_DATA, or Keras's download on a machine with internet."""
    from training.data import DataError, load_mnist

    try:
        return load_mnist()
    except DataError as error:
        pytest.skip(f"real MNIST unavailable: {error}")


@pytest.fixture(scope="session")
def trained_model(mnist, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The final net trained for one epoch on 5,000 real images, saved to the temporary store.

    The recipe is tuned for that tiny budget (no augmentation, small batches, a cosine schedule
    with a short warm-up); the accuracy test and the service tests share this one run.
    """
    from training.cli import run_training
    from training.recipes import recipe_for

    config = recipe_for(
        "conv_batchnorm_dropout",
        limit=TRAIN_LIMIT,
        epochs=1,
        batch_size=16,
        schedule="cosine",
        learning_rates=(5e-3,),
        warmup_epochs=0.2,
        augment=False,
        seed=0,
        verbose=0,
        output=str(tmp_path_factory.mktemp("runs")),
    )
    return run_training(config, mnist)


@pytest.fixture(scope="session")
def digit_images(mnist) -> tuple[np.ndarray, np.ndarray]:
    """The first 300 MNIST test images and their labels."""
    return mnist.x_test[:300], mnist.y_test[:300]


@pytest.fixture(scope="session")
def server(trained_model: dict, bentoml_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`bentoml serve` on the tiny trained model; yields its base URL once /readyz answers 200."""
    from loadtest.servers import bentoml_command, serving

    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {
        "BENTOML_HOME": str(bentoml_home),
        contract.MODEL_TAG_ENV: trained_model["model_tag"],
        "MNIST_MAX_IMAGES_PER_REQUEST": "64",
        "MNIST_MAX_BODY_BYTES": str(4 << 20),
        "MNIST_MAX_IMAGE_PIXELS": "4000000",
        # shed load only past the request timeout: a stalled CI machine must not turn the batching
        # tests into 503s; how the budget sheds load is measured by loadtest/burst.py
        "MNIST_MAX_LATENCY_MS": "60000",
    }
    try:
        with serving(bentoml_command(), "/readyz", env, log) as (url, _):
            yield url
    except RuntimeError as error:
        pytest.fail(f"{error}:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def reference(trained_model: dict):
    """The same stored model, run in-process: what every HTTP answer must agree with."""
    import bentoml

    from service.model_runtime import CompiledClassifier

    return CompiledClassifier(bentoml.models.get(trained_model["model_tag"]).path)
