"""Does mixed bfloat16 train faster here? float32 and mixed-bfloat16 epochs, alternated in one run.

    python -m training.bench_precision --data ../shared/data/mnist.npz

The quick recipe's net, batch size and augmentation, one copy built under each dtype policy; each
trains for an epoch in turn, twice. Prints each epoch's seconds and float32 / bfloat16 (best of
each); writes results/precision.md. On a CPU without native bfloat16 the second copy is emulated,
and the ratio shows why the recipes fall back to float32 there (training/precision.py).
"""

from __future__ import annotations

import time

import keras

from results_output import machine_description, write_markdown
from training.augment import training_dataset
from training.bench_augment import alternated_epochs, bench_arguments, epoch_report
from training.models import ARCHITECTURES
from training.precision import FLOAT32, MIXED_BFLOAT16, dtype_policy
from training.recipes import RECIPES
from training.train import augment_config

RECIPE = "quick"


def main() -> None:
    data, results = bench_arguments(__doc__.splitlines()[0])
    recipe = RECIPES[RECIPE]
    pipeline = training_dataset(data.x_train, data.y_train, recipe.batch_size, 0, augment_config(recipe))
    runs = {}
    for policy in (FLOAT32, MIXED_BFLOAT16):
        keras.utils.set_random_seed(0)
        with dtype_policy(policy):
            model = ARCHITECTURES[recipe.model](float(data.x_train.mean()), float(data.x_train.std()))
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        runs[policy] = (model, pipeline)
    seconds = alternated_epochs(runs)
    ratio = min(seconds[FLOAT32]) / min(seconds[MIXED_BFLOAT16])
    header = (
        f"Measured {time.strftime('%Y-%m-%d')} on {machine_description()}, Keras {keras.__version__}; "
        f"{len(data.x_train):,} images, the {RECIPE} recipe's net, batch {recipe.batch_size} and augmentation; "
        "`python -m training.bench_precision`."
    )
    lines = epoch_report(header, seconds, f"float32 / mixed bfloat16: {ratio:.2f}x the time per epoch.")
    write_markdown(lines, results / "precision.md")


if __name__ == "__main__":
    main()
