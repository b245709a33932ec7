"""The net's answer averaged over the image and copies of it moved by one pixel (test-time views).

A digit written a pixel further left is the same digit. The net, trained on shifted copies, reads
almost all of them alike; where it wavers, the mean of its logits over a few moved copies is right
more often than the one view: an ensemble of views of one net, at one pass of the net per view.
The views are built of plain Keras layers and ops (zero padding, cropping, a mean) inside the
stored model, so every runtime serves them and OpenVINO converts them; nothing changes in the
service.

    python -m training.shifted_views mnist_classifier:aaa mnist_classifier:bbb --validation 10000

scores nets saved by `python -m training.sweep --save` on the training images they held out, with
each set of views: how the long recipe's number of views was chosen, without the test set.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import model_contract as contract

if TYPE_CHECKING:  # Keras loads in the functions: `python -m training --help` names VIEWS without it
    import keras

# Each set of views as (rows, columns) moves; the first is the image itself.
_ITSELF = ((0, 0),)
_ALONG_AXES = ((-1, 0), (1, 0), (0, -1), (0, 1))
_DIAGONAL = ((-1, -1), (-1, 1), (1, -1), (1, 1))
VIEWS: dict[int, tuple[tuple[int, int], ...]] = {
    1: _ITSELF,
    5: _ITSELF + _ALONG_AXES,
    9: _ITSELF + _ALONG_AXES + _DIAGONAL,
}


def moved(padded: keras.KerasTensor, rows: int, columns: int) -> keras.KerasTensor:
    """A one-pixel zero-padded copy cropped back to the image's size, moved down by `rows` and
    right by `columns`."""
    from keras import layers

    return layers.Cropping2D(((1 - rows, 1 + rows), (1 - columns, 1 + columns)))(padded)


def averaged_over_views(logits: keras.Model, views: int) -> keras.Model:
    """A model answering the mean of `logits` over the image and its moved copies (`VIEWS[views]`)."""
    import keras
    from keras import layers

    if views not in VIEWS:
        raise ValueError(f"views must be one of {', '.join(map(str, VIEWS))}, got {views}")
    if views == 1:
        return logits
    pixels = keras.Input(shape=contract.INPUT_SHAPE)
    padded = layers.ZeroPadding2D(1)(layers.Reshape((*contract.INPUT_SHAPE, 1))(pixels))
    # All views in one batch through the net, not one copy of the net per view: for one image,
    # one call of batch 5 took half the time of five calls of batch 1 (OpenVINO, bf16: 0.50
    # against 1.00 ms), at the same images per second for large batches.
    every_view = layers.Concatenate(axis=0, name="views")(
        [moved(padded, rows, columns) for rows, columns in VIEWS[views]]
    )
    every_view = layers.Reshape(contract.INPUT_SHAPE)(every_view)
    per_view = keras.ops.reshape(logits(every_view), (views, -1, contract.NUM_CLASSES))
    mean = keras.ops.mean(per_view, axis=0)
    return keras.Model(pixels, mean, name=f"{logits.name}_{views}_views")


def main() -> None:
    import bentoml

    from results_output import machine_description, write_markdown
    from training.data import load_mnist
    from training.ensemble import member_logits
    from training.store import stored_keras_model

    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("tags", nargs="+", help="stored models trained without the last --validation training images")
    cli.add_argument("--validation", type=int, default=10_000, help="training images they held out (10,000)")
    cli.add_argument("--data", help="mnist.npz or IDX folder (default $MNIST_DATA, else download)")
    cli.add_argument("--output", default="results/views_long.md", help="where the table goes")
    args = cli.parse_args()

    data = load_mnist(args.data)
    images = data.x_train[-args.validation :].astype(np.float32)
    labels = data.y_train[-args.validation :]
    accuracy: dict[int, list[float]] = {views: [] for views in VIEWS}
    for tag in args.tags:
        net = member_logits(stored_keras_model(bentoml.models.get(tag)), 0)
        for views in VIEWS:
            answers = averaged_over_views(net, views).predict(images, batch_size=1000, verbose=0)
            accuracy[views].append(float((answers.argmax(axis=1) == labels).mean()))
            print(f"{tag}, {views} views: {accuracy[views][-1]:.2%}", flush=True)
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {machine_description()}: `python -m training.shifted_views "
        f"{' '.join(args.tags)} --validation {args.validation}`; scored on the last {args.validation:,} training "
        "images, which these nets did not train on (not the test set).",
        "",
        "| views | validation accuracy, mean | by net |",
        "| ---: | ---: | --- |",
        *(
            f"| {views} | {np.mean(scores):.2%} | {', '.join(f'{score:.2%}' for score in scores)} |"
            for views, scores in accuracy.items()
        ),
    ]
    write_markdown(lines, Path(args.output))


if __name__ == "__main__":
    main()
