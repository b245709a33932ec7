"""Choose a recipe's settings on held-out training images, never on the test set.

    python -m training.sweep --model one_hidden_layer --batch-sizes 32 64 --drop-after 6 7 8 9 10
    python -m training.sweep --recipe quick --epochs 5 6 --batch-sizes 128 --rates 3e-3 5e-3
    python -m training.sweep --recipe quick --batch-sizes 128 --stroke-change 0 1 --blur 0 1 --save

A tutorial recipe (step-down schedule): every combination trains it with Adam at --rate for the
first --drop-after epochs and at --final-rate for the rest (dropping after the last epoch means a
constant rate). A cosine recipe (--recipe quick or long): every combination of --epochs,
--batch-sizes, peak --rates and the settings of `VARIED_SETTINGS` (--stroke-change, --blur,
--dropout-scale, --distillation ...), distilling the --teachers given. Each runs once per seed,
on all training images but the last --validation ones, and is scored on those. Writes
results/sweep_<name>.md, with the seconds each run took; the test set is not touched. With
--save the models go into the store, so that other measurements
(`loadtest.other_writers --writers choosing`) can score them too.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from training.cli import add_teachers_flag, refuse_distillation_without_teachers
from training.recipes import RECIPES, TUTORIAL_RECIPES, TrainConfig


def step_rates(epochs: int, drop_after: int, rate: float, final_rate: float) -> tuple[float, ...]:
    """Adam's rate per epoch: `rate` for the first `drop_after` epochs, `final_rate` after."""
    return (rate,) * min(drop_after, epochs) + (final_rate,) * max(0, epochs - drop_after)


def step_grid(recipe: TrainConfig, args: argparse.Namespace) -> Iterator[tuple[str, TrainConfig]]:
    for batch_size in args.batch_sizes:
        for drop_after in args.drop_after:
            rates = step_rates(recipe.epochs, drop_after, args.rate, args.final_rate)
            described = (
                f"{args.rate:g} throughout"
                if drop_after >= recipe.epochs
                else f"{args.rate:g} x{drop_after}, then {args.final_rate:g} x{recipe.epochs - drop_after}"
            )
            yield f"batch {batch_size}, {described}", replace(recipe, batch_size=batch_size, learning_rates=rates)


# The settings besides epochs, batch size and rate that a cosine recipe's sweep can vary, each by a
# flag of the same name.
VARIED_SETTINGS = {
    "stroke_change": "pen changes",
    "blur": "blurs",
    "elastic_pixels": "elastic distortions (px)",
    "shift_pixels": "shifts (px)",
    "rotation_degrees": "rotations (degrees)",
    "ema_momentum": "weight averages (momentum)",
    "label_smoothing": "label smoothings",
    "weight_decay": "weight decays",
    "dropout_scale": "dropout scales",
    "distillation": "the teachers' shares of a target (with --teachers)",
    "distillation_temperature": "the teachers' temperatures (with --teachers)",
}


def cosine_grid(recipe: TrainConfig, args: argparse.Namespace) -> Iterator[tuple[str, TrainConfig]]:
    varied = {field: getattr(args, field) or [getattr(recipe, field)] for field in VARIED_SETTINGS}
    for epochs, batch_size, rate, *values in itertools.product(
        args.epochs or [recipe.epochs],
        args.batch_sizes,
        args.rates or [recipe.learning_rates[0]],
        *varied.values(),
    ):
        settings = dict(zip(varied, values, strict=True))
        described = ", ".join(
            [f"{epochs} epochs, batch {batch_size}, peak {rate:g}"]
            + [f"{field.replace('_', ' ')} {value:g}" for field, value in settings.items() if getattr(args, field)]
        )
        yield described, replace(recipe, epochs=epochs, batch_size=batch_size, learning_rates=(rate,), **settings)


def main() -> None:
    from results_output import machine_description, write_markdown
    from training.data import load_mnist
    from training.pipeline import run_training
    from training.precision import training_policy

    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--model", default="one_hidden_layer", choices=list(TUTORIAL_RECIPES))
    cli.add_argument("--recipe", choices=[name for name in RECIPES if RECIPES[name].schedule == "cosine"])
    cli.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64])
    cli.add_argument("--drop-after", type=int, nargs="+", default=[6, 7, 8, 9, 10], help="epochs at --rate")
    cli.add_argument("--rate", type=float, default=1e-3, help="Adam's rate before the drop (1e-3)")
    cli.add_argument("--final-rate", type=float, default=1e-4, help="Adam's rate after the drop (1e-4)")
    cli.add_argument("--epochs", type=int, nargs="+", help="cosine recipes: epochs to try (the recipe's)")
    cli.add_argument("--rates", type=float, nargs="+", help="cosine recipes: peak rates to try (the recipe's)")
    for field, what in VARIED_SETTINGS.items():
        flag = "--" + field.replace("_", "-")
        cli.add_argument(flag, type=float, nargs="+", help=f"cosine recipes: {what} to try (the recipe's)")
    add_teachers_flag(cli)
    cli.add_argument("--save", action="store_true", help="put each run's model into the store, to measure it further")
    cli.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    cli.add_argument("--validation", type=int, default=10_000, help="training images held out (10,000)")
    cli.add_argument("--data", help="mnist.npz or IDX folder (default $MNIST_DATA, else download)")
    cli.add_argument("--output", default="results", help="where the table goes (results)")
    args = cli.parse_args()
    refuse_distillation_without_teachers(cli, args)

    data = load_mnist(args.data).holdout(args.validation)
    name = args.recipe or args.model
    recipe = replace(RECIPES[name], teachers=tuple(args.teachers or ()))
    grid = cosine_grid(recipe, args) if args.recipe else step_grid(recipe, args)
    own = recipe.holdout
    calibration_holdout = f" (less the recipe's own {own:,} held out for calibration)" if own else ""
    distilled = f"; distilling {', '.join(args.teachers)}" if args.teachers else ""
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {machine_description()}, training in "
        f"{training_policy(recipe.mixed_precision)}: `python -m training.sweep` for {name}; trained on "
        f"{len(data.x_train):,} images{calibration_holdout}{distilled}, scored on the last {args.validation:,} "
        "training images (not the test set); "
        f"seeds {' '.join(map(str, args.seeds))}.",
        "",
        "| settings | validation accuracy, mean | by seed | seconds per run |",
        "| --- | ---: | --- | ---: |",
    ]
    results = []
    for described, config in grid:
        runs = []
        for seed in args.seeds:  # a line per epoch and one per run: a long sweep runs for hours
            runs.append(run_training(replace(config, seed=seed, save=args.save, verbose=2), data))
            print(
                f"{described}, seed {seed}: {runs[-1]['test_accuracy']:.2%} in {runs[-1]['training_seconds']:.0f} s",
                flush=True,
            )
        accuracies = [run["test_accuracy"] for run in runs]
        mean = sum(accuracies) / len(accuracies)
        seconds = sum(run["training_seconds"] for run in runs) / len(runs)
        tags = f" ({', '.join(run['model_tag'] for run in runs)})" if args.save else ""
        lines.append(
            f"| {described}{tags} | {mean:.2%} | {', '.join(f'{a:.2%}' for a in accuracies)} | {seconds:.0f} |"
        )
        results.append((mean, -seconds, lines[-1]))  # a tie goes to the faster settings
        print(lines[-1], flush=True)
    lines += ["", f"Best: {max(results)[2]}"]
    write_markdown(lines, Path(args.output) / f"sweep_{name}.md")


if __name__ == "__main__":
    main()
