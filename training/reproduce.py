"""Train all five models with the tutorial's recipes and write our figures beside the tutorial's.

    python -m training.reproduce --data ../shared/data/mnist.npz
    python -m training.reproduce --recipes quick long --seeds 42 1 2

Writes results/reproduction.md (the README's table) and results/reproduction.json; with
--recipes, results/recipes_<names>.md and .json instead. The models are not put into the store
unless --save is given: this is a measurement, not a release.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path

from training.cli import add_distillation_flags, distillation_overrides, refuse_distillation_without_teachers
from training.recipes import RECIPES, TUTORIAL_RECIPES, TrainConfig

# What the tutorial reported, on the 10,000 test images.
TUTORIAL_ACCURACY = {
    "linear": "92.31%",
    "one_hidden_layer": "97.56%",
    "conv": "96.84%",
    "conv_dropout": "98.49%",
    "conv_batchnorm_dropout": "98.14%, then 99.17%",
}
RECIPE_TEXT = {
    "linear": "Adam 1e-3, 10 epochs",
    "one_hidden_layer": "Adam 1e-3 9 epochs, then 1e-4 1 epoch",
    "conv": "Adam 1e-3, 1 epoch",
    "conv_dropout": "augmented, Adam 1e-3, 1 epoch",
    "conv_batchnorm_dropout": "augmented, Adam 1e-3 1 epoch, then 1e-4 1 epoch",
}


def recipe_text(name: str, config: TrainConfig) -> str:
    """The tutorial's recipes in its words; ours from their settings."""
    if name in RECIPE_TEXT:
        return RECIPE_TEXT[name]
    held_out = (
        f"; last {config.holdout:,} training images held out for calibration, {config.non_digits:,} drawn non-digits"
        if config.holdout
        else ""
    )
    pens = (
        f" and other pens (stroke change {config.stroke_change:g}, blur {config.blur:g})"
        if config.stroke_change or config.blur
        else ""
    )
    elastic = f", elastic distortion up to {config.elastic_pixels:g} px" if config.elastic_pixels else ""
    views = f"; answers the mean over {config.views} views moved by a pixel" if config.views > 1 else ""
    distilled = (
        f"; targets {config.distillation:g} the softened mean answer of {len(config.teachers)} stored nets "
        f"(temperature {config.distillation_temperature:g})"
        if config.teachers
        else ""
    )
    return (
        f"augmented with rotations up to {config.rotation_degrees:g} degrees, shifts up to "
        f"{config.shift_pixels:g} px{pens}{elastic}, "
        f"Adam warm-up {config.warmup_epochs:g} epoch then cosine from {config.learning_rates[0]:g}, "
        f"{config.epochs} epochs{held_out}{views}{distilled}"
    )


def main() -> None:
    from results_output import machine_description, write_markdown
    from training.data import load_mnist
    from training.pipeline import run_training

    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--data", help="mnist.npz or IDX folder (default $MNIST_DATA, else download)")
    cli.add_argument("--output", default="results", help="where the table goes (results)")
    cli.add_argument("--seeds", type=int, nargs="+", default=[42], help="one run per seed and model (42)")
    cli.add_argument("--save", action="store_true", help="also put each model into the store")
    cli.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2], help="Keras progress")
    cli.add_argument("--recipes", nargs="+", choices=list(RECIPES), help="named recipes instead of the tutorial's five")
    add_distillation_flags(cli)
    args = cli.parse_args()
    refuse_distillation_without_teachers(cli, args)
    distillation = distillation_overrides(args)

    data = load_mnist(args.data)
    rows = []
    for name in args.recipes or TUTORIAL_RECIPES:
        recipe = replace(RECIPES[name], **distillation)
        runs = []
        for seed in args.seeds:
            print(f"\n=== {name}, seed {seed}: {recipe_text(name, recipe)} ===")
            config = replace(recipe, data=args.data, seed=seed, save=args.save, verbose=args.verbose)
            runs.append(run_training(config, data))
        accuracies = [run["test_accuracy"] for run in runs]
        rows.append(
            {
                "model": name,
                "recipe": f"{recipe_text(name, recipe)}, batch {recipe.batch_size}",
                "tutorial_accuracy": TUTORIAL_ACCURACY.get(name, "-"),
                "seeds": args.seeds,
                "accuracy_by_seed": accuracies,
                "accuracy_by_epoch_first_seed": [round(a, 4) for a in runs[0]["history"]["val_accuracy"]],
                "parameters": runs[0]["parameters"],
                "seconds_mean": sum(run["training_seconds"] for run in runs) / len(runs),
                "seconds_max": max(run["training_seconds"] for run in runs),
                "calibration_by_seed": [run.get("calibration") for run in runs],
            }
        )

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    machine = f"{machine_description()}, Python {platform.python_version()}"
    stamp = time.strftime("%Y-%m-%d")
    lines = [
        f"Measured {stamp} on {machine}, seeds {' '.join(map(str, args.seeds))}: "
        "`python -m training.reproduce`. Ours: the mean over seeds ± their standard deviation (lowest-highest); "
        "for the two-epoch net, the first seed's accuracy after each epoch is also given.",
        "",
        "| model | recipe | tutorial | ours | parameters | seconds (mean, slowest) |",
        "| --- | --- | --- | --- | ---: | ---: |",
    ]
    for row in rows:
        accuracies = row["accuracy_by_seed"]
        ours = f"{statistics.mean(accuracies):.2%}"
        if len(accuracies) > 1:
            ours += f" ± {statistics.stdev(accuracies):.2%} ({min(accuracies):.2%}-{max(accuracies):.2%})"
        if len(row["accuracy_by_epoch_first_seed"]) == 2:
            ours += " [" + ", then ".join(f"{a:.2%}" for a in row["accuracy_by_epoch_first_seed"]) + "]"
        lines.append(
            f"| {row['model']} | {row['recipe']} | {row['tutorial_accuracy']} | {ours} | "
            f"{row['parameters']:,} | {row['seconds_mean']:.0f}, {row['seconds_max']:.0f} |"
        )
    calibrated = [row for row in rows if all(row["calibration_by_seed"])]
    if calibrated:
        lines += [
            "",
            "Calibration, chosen on the held-out training images and measured on the test set (mean over seeds):",
            "",
            "| model | temperature | ECE before | ECE after | test digits flagged | drawn non-digits flagged |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
    for row in calibrated:
        by_seed = row["calibration_by_seed"]
        mean = {key: statistics.mean(calibration[key] for calibration in by_seed) for key in by_seed[0]}
        lines.append(
            f"| {row['model']} | {mean['temperature']:.3f} | {mean['test_ece_before']:.3%} | "
            f"{mean['test_ece_after']:.3%} | {mean['test_digits_flagged']:.2%} | {mean['non_digits_flagged']:.1%} |"
        )
    summary = {"date": stamp, "machine": machine, "rows": rows}
    stem = f"recipes_{'_'.join(args.recipes)}" if args.recipes else "reproduction"
    (output / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_markdown(lines, output / f"{stem}.md")


if __name__ == "__main__":
    main()
