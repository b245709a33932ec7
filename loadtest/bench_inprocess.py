"""In-process benchmark: the serving path beside Keras's eager calls, same model, same run.

    python -m loadtest.bench_inprocess [--tag mnist_classifier:latest]

Prints latency at batch 1 and throughput at batch 256 for the SavedModel the service uses,
Keras's `model.predict`, and an eager `model(x)`; writes results/inprocess.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import bentoml
import keras
import numpy as np
import tensorflow as tf

import model_contract as contract
from results_output import write_markdown
from service.model_runtime import CompiledClassifier
from service.settings import ServiceSettings

LATENCY_CALLS = 300
THROUGHPUT_BATCH = 256
THROUGHPUT_SECONDS = 5.0


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


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--tag", default=ServiceSettings().model_tag, help="stored model ($MNIST_MODEL_TAG)")
    cli.add_argument("--results", default="results", help="output folder (results)")
    args = cli.parse_args()

    stored = bentoml.models.get(args.tag)
    serving = CompiledClassifier(stored.path)
    model = keras.models.load_model(Path(stored.path) / contract.KERAS_FILE, safe_mode=True)
    rng = np.random.default_rng(0)
    one = rng.integers(0, 256, (1, *contract.INPUT_SHAPE)).astype(np.float32)
    many = rng.integers(0, 256, (THROUGHPUT_BATCH, *contract.INPUT_SHAPE)).astype(np.float32)
    paths = {
        "serving path (SavedModel)": serving.probabilities,
        "Keras model.predict": lambda x: model.predict(x, verbose=0),
        "Keras eager model(x)": lambda x: model(x, training=False).numpy(),
    }
    results = {}
    for name, call in paths.items():
        median, p99 = latency_ms(call, one, LATENCY_CALLS if "serving" in name else LATENCY_CALLS // 3)
        results[name] = (median, p99, images_per_second(call, many))
        rate = results[name][2]
        print(f"{name}: batch 1 {median:.2f} ms (p99 {p99:.2f}), batch {THROUGHPUT_BATCH} {rate:,.0f} images/s")

    base = results["serving path (SavedModel)"]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, device "
        f"{serving.device}; TensorFlow {tf.__version__}, Keras {keras.__version__}; model {stored.tag}.",
        "",
        f"| path | batch 1 median ms | batch 1 p99 ms | batch {THROUGHPUT_BATCH} images/s | "
        "serving path's speed-up at batch 1 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, (median, p99, rate) in results.items():
        lines.append(f"| {name} | {median:.2f} | {p99:.2f} | {rate:,.0f} | {median / base[0]:.1f}x |")
    write_markdown(lines, Path(args.results) / "inprocess.md")


if __name__ == "__main__":
    main()
