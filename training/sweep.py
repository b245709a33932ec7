"""Choose a model's step-down schedule and batch size on held-out training images, not on test.

    python -m training.sweep --model one_hidden_layer --batch-sizes 32 64 --drop-after 6 7 8 9 10

Every combination trains the model's tutorial recipe with Adam at --rate for the first
--drop-after epochs and at --final-rate for the rest (dropping after the last epoch means a
constant rate), once per seed, on all training images but the last --validation ones, and is
scored on those. Writes results/sweep_<model>.md; the test set is not touched.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from training.recipes import TUTORIAL_RECIPES


def step_rates(epochs: int, drop_after: int, rate: float, final_rate: float) -> tuple[float, ...]:
    """Adam's rate per epoch: `rate` for the first `drop_after` epochs, `final_rate` after."""
    return (rate,) * min(drop_after, epochs) + (final_rate,) * max(0, epochs - drop_after)


def main() -> None:
    from results_output import write_markdown
    from training.data import load_mnist
    from training.pipeline import run_training

    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--model", default="one_hidden_layer", choices=list(TUTORIAL_RECIPES))
    cli.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64])
    cli.add_argument("--drop-after", type=int, nargs="+", default=[6, 7, 8, 9, 10], help="epochs at --rate")
    cli.add_argument("--rate", type=float, default=1e-3, help="Adam's rate before the drop (1e-3)")
    cli.add_argument("--final-rate", type=float, default=1e-4, help="Adam's rate after the drop (1e-4)")
    cli.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    cli.add_argument("--validation", type=int, default=10_000, help="training images held out (10,000)")
    cli.add_argument("--data", help="mnist.npz or IDX folder (default $MNIST_DATA, else download)")
    cli.add_argument("--output", default="results", help="where the table goes (results)")
    args = cli.parse_args()

    data = load_mnist(args.data).holdout(args.validation)
    recipe = TUTORIAL_RECIPES[args.model]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')}: `python -m training.sweep --model {args.model}`; trained on "
        f"{len(data.x_train):,} images, scored on the last {args.validation:,} training images (not the test "
        f"set); {recipe.epochs} epochs; seeds {' '.join(map(str, args.seeds))}.",
        "",
        "| batch | Adam's rates | validation accuracy, mean | by seed |",
        "| ---: | --- | ---: | --- |",
    ]
    results = []
    for batch_size in args.batch_sizes:
        for drop_after in args.drop_after:
            rates = step_rates(recipe.epochs, drop_after, args.rate, args.final_rate)
            accuracies = [
                run_training(
                    replace(recipe, batch_size=batch_size, learning_rates=rates, seed=seed, save=False, verbose=0),
                    data,
                )["test_accuracy"]
                for seed in args.seeds
            ]
            mean = sum(accuracies) / len(accuracies)
            described = (
                f"{args.rate:g} throughout"
                if drop_after >= recipe.epochs
                else f"{args.rate:g} x{drop_after}, then {args.final_rate:g} x{recipe.epochs - drop_after}"
            )
            lines.append(f"| {batch_size} | {described} | {mean:.2%} | {', '.join(f'{a:.2%}' for a in accuracies)} |")
            results.append((mean, lines[-1]))
            print(lines[-1], flush=True)
    lines += ["", f"Best: {max(results)[1]}"]
    write_markdown(lines, Path(args.output) / f"sweep_{args.model}.md")


if __name__ == "__main__":
    main()
