"""In-process benchmark: every runtime that can serve the stored model, and Keras's own calls,
same model, same run.

    python -m loadtest.bench_inprocess [--tag mnist_classifier:latest] [--data mnist.npz]

Prints latency at batch 1, throughput at batch 256, accuracy on the 10,000 MNIST test images and
how many of those answers differ from OpenVINO f32's, for OpenVINO in bf16 (where the CPU has it)
and f32, TensorFlow's SavedModel, Keras's `model.predict` and an eager `model(x)`, and for
OpenVINO INT8 (quantised here by NNCF, measured but not served); writes results/inprocess.md.
The service serves the first row the CPU allows.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import bentoml
import numpy as np

import model_contract as contract
from loadtest.measuring_cli import measuring_cli
from results_output import machine_description, write_markdown
from service.model_runtime import load_classifier
from training.data import load_mnist

LATENCY_CALLS = 1000
THROUGHPUT_BATCH = 256
THROUGHPUT_SECONDS = 5.0
TEST_BATCH = 500
QUANTISATION_IMAGES = 300  # training images NNCF sets INT8's activation ranges from (its documented default)


def latency_ms(call: Callable[[np.ndarray], object], pixels: np.ndarray, calls: int) -> tuple[float, float]:
    """Median and p99 of single calls, after a few warm-up calls."""
    for _ in range(5):
        call(pixels)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call(pixels)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), float(np.percentile(times, 99))


def images_per_second(call: Callable[[np.ndarray], object], pixels: np.ndarray) -> float:
    call(pixels)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < THROUGHPUT_SECONDS:
        call(pixels)
        done += len(pixels)
    return done / (time.perf_counter() - started)


def answers(call: Callable[[np.ndarray], np.ndarray], images: np.ndarray) -> np.ndarray:
    """The digit each image is read as."""
    batches = range(0, len(images), TEST_BATCH)
    return np.concatenate([np.asarray(call(images[i : i + TEST_BATCH])).argmax(axis=1) for i in batches])


def serving_paths(model_path: str) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Each runtime the service can serve with, by name; bf16 only where this CPU has it natively."""
    paths = {}
    reduced = load_classifier(model_path, "openvino", "auto")
    if reduced.precision != "f32":
        paths[f"OpenVINO {reduced.precision}"] = reduced.probabilities
    paths["OpenVINO f32"] = load_classifier(model_path, "openvino", "full").probabilities
    paths["TensorFlow SavedModel f32"] = load_classifier(model_path, "tensorflow").probabilities
    return paths


def int8_path(model_path: str, calibration: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The stored IR quantised to INT8 by NNCF's post-training quantisation. Not served: on every
    CPU measured it changed about one answer in a thousand from f32's, where bf16 changed none
    (README, "The model path"); this row keeps that trade measured."""
    import nncf
    import openvino as ov

    from service.openvino_runtime import FULL, compile_for

    core = ov.Core()
    model = core.read_model(contract.openvino_model_file(Path(model_path)))
    samples = nncf.Dataset([image[None].astype(np.float32) for image in calibration])
    quantized = nncf.quantize(model, samples, subset_size=len(calibration))
    request = compile_for(core, quantized, FULL).create_infer_request()  # INT8 where quantised, f32 between
    return lambda pixels: request.infer([pixels])[0]


def main() -> None:
    cli = measuring_cli(__doc__.splitlines()[0])
    args = cli.parse_args()
    # here, not at the top: loadtest.benchmark imports this module's timing and must not load TensorFlow
    import keras
    import openvino as ov
    import tensorflow as tf

    stored = bentoml.models.get(args.tag)
    model = keras.models.load_model(Path(stored.path) / contract.KERAS_FILE, safe_mode=True)
    data = load_mnist(args.data)
    test_images = data.x_test.astype(np.float32)
    rng = np.random.default_rng(0)
    one = rng.integers(0, 256, (1, *contract.INPUT_SHAPE)).astype(np.float32)
    many = rng.integers(0, 256, (THROUGHPUT_BATCH, *contract.INPUT_SHAPE)).astype(np.float32)
    paths = serving_paths(stored.path) | {
        "OpenVINO int8 (NNCF, not served)": int8_path(stored.path, data.x_train[:QUANTISATION_IMAGES]),
        "Keras model.predict": lambda x: model.predict(x, verbose=0),
        "Keras eager model(x)": lambda x: model(x, training=False).numpy(),
    }
    read_as = {name: answers(call, test_images) for name, call in paths.items()}
    results = {}
    for name, call in paths.items():
        median, p99 = latency_ms(call, one, LATENCY_CALLS if "Keras" not in name else LATENCY_CALLS // 10)
        correct = float((read_as[name] == data.y_test).mean())
        unlike = int((read_as[name] != read_as["OpenVINO f32"]).sum())
        rate = images_per_second(call, many)
        results[name] = (median, p99, rate, correct, unlike)
        print(
            f"{name}: batch 1 {median:.3f} ms (p99 {p99:.3f}), batch {THROUGHPUT_BATCH} {rate:,.0f} images/s, "
            f"test accuracy {correct:.2%}, {unlike} answers unlike OpenVINO f32's"
        )

    fastest = next(iter(results.values()))
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {machine_description()}; OpenVINO {ov.__version__.split('-')[0]}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}; model {stored.tag}.",
        "",
        f"| path | batch 1 median ms | batch 1 p99 ms | batch {THROUGHPUT_BATCH} images/s | test accuracy | "
        "answers unlike OpenVINO f32's | batch 1 time vs the first row | batch 256 speed vs the first row |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, (median, p99, rate, correct, unlike) in results.items():
        lines.append(
            f"| {name} | {median:.3f} | {p99:.3f} | {rate:,.0f} | {correct:.2%} | {unlike} | "
            f"{median / fastest[0]:.1f}x | {rate / fastest[2]:.2f}x |"
        )
    write_markdown(lines, Path(args.results) / "inprocess.md")


if __name__ == "__main__":
    main()
