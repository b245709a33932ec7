"""Does augmentation slow training? Plain and augmented epochs, alternated, in one run.

    python -m training.bench_augment --data ../shared/data/mnist.npz

Trains the final net for plain, augmented, plain, augmented epochs on the same data and prints
each epoch's seconds and the ratio of augmented to plain (best of each); writes results/augment.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import keras
import tensorflow as tf

from results_output import write_markdown
from training.augment import AugmentConfig, training_dataset
from training.data import Mnist, load_mnist
from training.models import conv_batchnorm_dropout
from training.train import EpochTimer

ROUNDS = 2
BATCH_SIZE = 32


def alternated_epochs(runs: dict[str, tuple[keras.Model, tf.data.Dataset]]) -> dict[str, list[float]]:
    """Seconds of each named (model, pipeline) epoch, the names taking turns for ROUNDS rounds, so
    that a machine slowing down or speeding up weighs on every name alike."""
    for model, pipeline in runs.values():
        model.fit(pipeline.take(20), verbose=0)  # trace the training step before timing
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for round_index in range(ROUNDS):
        for name, (model, pipeline) in runs.items():
            timer = EpochTimer()
            model.fit(pipeline, epochs=1, callbacks=[timer], verbose=0, shuffle=False)
            seconds[name].append(timer.seconds[0])
            print(f"round {round_index + 1}: {name} epoch {timer.seconds[0]:.1f} s", flush=True)
    return seconds


def epoch_report(header: str, seconds: dict[str, list[float]], conclusion: str) -> list[str]:
    """A benchmark's markdown: its header, each name's epoch seconds round by round and its best,
    and the conclusion."""
    return [
        header,
        "",
        "| epoch | seconds (each round) | best |",
        "| --- | --- | ---: |",
        *(
            f"| {name} | {', '.join(f'{s:.1f}' for s in values)} | {min(values):.1f} |"
            for name, values in seconds.items()
        ),
        "",
        conclusion,
    ]


def bench_arguments(description: str) -> tuple[Mnist, Path]:
    """The data an epoch benchmark trains on and the folder its table goes to, from its flags."""
    cli = argparse.ArgumentParser(description=description)
    cli.add_argument("--data", help="mnist.npz or IDX folder (default $MNIST_DATA, else download)")
    cli.add_argument("--limit", type=int, help="first N training images only")
    cli.add_argument("--results", default="results", help="output folder (results)")
    args = cli.parse_args()
    return load_mnist(args.data).limited(args.limit), Path(args.results)


def main() -> None:
    data, results = bench_arguments(__doc__.splitlines()[0])
    keras.utils.set_random_seed(0)
    model = conv_batchnorm_dropout(float(data.x_train.mean()), float(data.x_train.std()))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    pipelines = {
        "plain": training_dataset(data.x_train, data.y_train, BATCH_SIZE, 0, augment=None),
        "augmented": training_dataset(data.x_train, data.y_train, BATCH_SIZE, 0, augment=AugmentConfig()),
    }
    seconds = alternated_epochs({name: (model, pipeline) for name, pipeline in pipelines.items()})
    plain, augmented = min(seconds["plain"]), min(seconds["augmented"])
    header = (
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, TensorFlow "
        f"{tf.__version__}; {len(data.x_train):,} images, batch {BATCH_SIZE}, final net; "
        "`python -m training.bench_augment`."
    )
    lines = epoch_report(header, seconds, f"Augmented / plain: {augmented / plain:.3f}x (target: at most 1.15x).")
    write_markdown(lines, results / "augment.md")


if __name__ == "__main__":
    main()
