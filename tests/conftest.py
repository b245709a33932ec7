"""Shared fixtures. Every test runs against a temporary BentoML home, never the user's store.

Service, middleware and security tests run on `tiny_model`, a small net made here with random
weights (no MNIST, no training), and on digit-like images drawn here, so they run on any machine.
Tests that train on or score against real MNIST use the `mnist` fixture and are marked `mnist`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import model_contract as contract

TRAIN_LIMIT = 5000  # the integration run: first 5,000 MNIST training images, one epoch
SAMPLE_IMAGES = 300
TEST_SERVER_ENV = {
    "MNIST_MAX_IMAGES_PER_REQUEST": "64",
    "MNIST_MAX_BODY_BYTES": str(4 << 20),
    "MNIST_MAX_IMAGE_PIXELS": "4000000",
    "MNIST_MAX_REQUEST_PIXELS": "8000000",
    "MNIST_MAX_CONCURRENCY": "256",  # the concurrency tests send 200 requests at once
    "MNIST_BODY_TIMEOUT_S": "3",
    "MNIST_HEADER_TIMEOUT_S": "3",
    # shed load only past the request timeout: a stalled CI machine must not turn the batching
    # tests into 503s; how the budget sheds load is measured by loadtest/faults.py
    "MNIST_MAX_LATENCY_MS": "60000",
}


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
    with a short warm-up).
    """
    from training.pipeline import run_training
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
def drawing_model(mnist, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The net `make serve` trains (the quick recipe on all 60,000 images); its tag.

    The page's test draws digits for the model users get: about three minutes on two cores.
    """
    from training.pipeline import run_training
    from training.recipes import recipe_for

    config = recipe_for("quick", seed=0, verbose=0, output=str(tmp_path_factory.mktemp("runs")))
    return run_training(config, mnist)["model_tag"]


@pytest.fixture(scope="session")
def tiny_model(bentoml_home: Path) -> str:
    """A small net with random weights, saved to the temporary store; returns its tag.

    Its answers depend strongly on the pixels (large random weights), so a request answered with
    another request's result shows up, which is what the service tests check.
    """
    return save_tiny_model(seed=0)


def save_tiny_model(seed: int) -> str:
    """A new stored version of a small random-weight net (see `tiny_model`); returns its tag."""
    import keras
    from keras import layers

    from training.store import save_to_store

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=contract.INPUT_SHAPE),
            layers.Rescaling(1 / contract.PIXEL_MAX),
            layers.Flatten(),
            layers.Dense(
                contract.NUM_CLASSES,
                activation="softmax",
                kernel_initializer=keras.initializers.RandomNormal(stddev=0.5),
            ),
        ]
    )
    metadata = {
        contract.META_ARCHITECTURE: "tiny_test_net",
        contract.META_TEST_ACCURACY: 0.0,
        contract.META_PARAMETERS: int(model.count_params()),
        contract.META_INPUT_FORMAT: {"shape": list(contract.INPUT_SHAPE), "dtype": contract.INPUT_DTYPE},
    }
    check_images = np.random.default_rng(seed).integers(0, 256, (contract.CHECK_BATCH_IMAGES, *contract.INPUT_SHAPE))
    return str(save_to_store(model, metadata, check_images, report_folder=None).tag)


def draw_digit_like(rng: np.random.Generator) -> np.ndarray:
    """A 28x28 MNIST-style image: three light strokes on black, inside MNIST's 20x20 box."""
    canvas = Image.new("L", (contract.IMAGE_SIDE, contract.IMAGE_SIDE), 0)
    draw = ImageDraw.Draw(canvas)
    points = [tuple(int(v) for v in rng.integers(5, 23, 2)) for _ in range(4)]
    draw.line(points, fill=int(rng.integers(180, 256)), width=int(rng.integers(2, 4)))
    return np.asarray(canvas)


@pytest.fixture(scope="session")
def digit_images() -> np.ndarray:
    """300 distinct digit-like 28x28 uint8 images, drawn here."""
    rng = np.random.default_rng(7)
    return np.stack([draw_digit_like(rng) for _ in range(SAMPLE_IMAGES)])


def start_server(model_tag: str, log: Path, extra_env: dict[str, str] | None = None):
    """`bentoml serve` on a stored model, as a context manager yielding (url, pid) once ready.

    Each server gets a BentoML home of its own that shares the test store's models: BentoML clears
    its home's Prometheus directory when a server starts, which would wipe the metrics of a server
    already running on the same home.
    """
    from local_servers import bentoml_command, serving

    home = Path(tempfile.mkdtemp(prefix="mnist-test-server-home-", dir=log.parent))
    (home / "models").symlink_to(Path(os.environ["BENTOML_HOME"]) / "models")
    env = {"BENTOML_HOME": str(home), contract.MODEL_TAG_ENV: model_tag, **TEST_SERVER_ENV}
    return serving(bentoml_command(), "/readyz", {**env, **(extra_env or {})}, log)


@pytest.fixture(scope="session")
def server(tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`bentoml serve` on the tiny model; yields its base URL once /readyz answers 200."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    try:
        with start_server(tiny_model, log) as (url, _):
            yield url
    except RuntimeError as error:
        pytest.fail(f"{error}:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def reference(tiny_model: str):
    """The same stored model, run in-process: what every HTTP answer must agree with."""
    import bentoml

    from service.model_runtime import load_classifier

    return load_classifier(bentoml.models.get(tiny_model).path)


def model_calls(server: str) -> float:
    """How many batches /predict has run so far, from BentoML's adaptive-batch-size histogram."""
    import httpx

    metrics = httpx.get(f"{server}/metrics").text.splitlines()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics
        if line.startswith("bentoml_service_adaptive_batch_size_count")
    )


def assert_answered_apart_and_batched(server: str, ask, expected: np.ndarray) -> None:
    """Send `len(expected)` requests at once, `ask(index)` returning image `index`'s probabilities:
    each must get its own answer, and BentoML's metrics must show fewer model calls than requests."""
    from concurrent.futures import ThreadPoolExecutor

    calls_before = model_calls(server)
    with ThreadPoolExecutor(max_workers=len(expected)) as pool:
        answers = list(pool.map(ask, range(len(expected))))
    np.testing.assert_allclose(np.array(answers), expected, atol=1e-5)
    calls = model_calls(server) - calls_before
    assert 0 < calls < len(expected), f"{calls} model calls for {len(expected)} requests"
