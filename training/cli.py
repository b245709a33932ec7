"""`python -m training`: train a model by name, write its report, and publish it to the store."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from training.data import DATA_ENV, DataError
from training.pipeline import run_training
from training.recipes import DEFAULT_MODEL, RECIPES, TUTORIAL_RECIPES, TrainConfig, recipe_for
from training.shifted_views import VIEWS

# What the teachers' answers are mixed in with; meaningless without teachers.
DISTILLATION_SETTINGS = ("distillation", "distillation_temperature")


def add_teachers_flag(cli: argparse.ArgumentParser) -> None:
    cli.add_argument(
        "--teachers",
        nargs="+",
        metavar="TAG",
        help="stored calibrated nets whose softened mean answer is mixed into each digit's target (none)",
    )


def add_distillation_flags(cli: argparse.ArgumentParser) -> None:
    """--teachers and the two settings that say how their answers are mixed in, one value each."""
    defaults = TrainConfig()
    add_teachers_flag(cli)
    cli.add_argument(
        "--distillation", type=float, help=f"the teachers' share of a digit's target ({defaults.distillation})"
    )
    cli.add_argument(
        "--distillation-temperature",
        type=float,
        help=f"the teachers' logits are divided by this before their softmax ({defaults.distillation_temperature})",
    )


def distillation_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The teachers and distillation settings given on the command line, as `TrainConfig` fields."""
    given = {setting: getattr(args, setting) for setting in DISTILLATION_SETTINGS if getattr(args, setting) is not None}
    return {**given, "teachers": tuple(args.teachers)} if args.teachers else given


def refuse_distillation_without_teachers(cli: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A command given a distillation setting but no --teachers would train on the labels alone,
    silently; it stops with a message instead."""
    if not args.teachers and any(getattr(args, setting) is not None for setting in DISTILLATION_SETTINGS):
        cli.error("--distillation and --distillation-temperature mix in the answers of --teachers: name them")


def parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    cli = argparse.ArgumentParser(
        prog="python -m training",
        description="Train one of the tutorial's MNIST models and publish it to the BentoML model "
        "store. Each model's tutorial recipe is the default; the flags below override it.",
    )
    cli.add_argument(
        "--model",
        choices=list(TUTORIAL_RECIPES),
        default=None,
        help=f"architecture to train (default {DEFAULT_MODEL}, or the recipe's)",
    )
    cli.add_argument(
        "--recipe",
        choices=list(RECIPES),
        default=None,
        help="start from a named recipe: a model's tutorial recipe, or 'long' for the "
        "best this net can do (default: the tutorial recipe of --model)",
    )
    cli.add_argument("--epochs", type=int, help="passes over the training set (recipe: 2 for the default model)")
    cli.add_argument("--batch-size", type=int, help="images per step (recipe: 16 for the default model)")
    cli.add_argument(
        "--schedule",
        choices=["epochs", "cosine"],
        help="'epochs': one learning rate per epoch, the last repeated; 'cosine': "
        "warm-up then cosine decay from the first rate",
    )
    cli.add_argument(
        "--learning-rates", type=float, nargs="+", metavar="LR", help="Adam's learning rates (tutorial: 1e-3 then 1e-4)"
    )
    cli.add_argument("--warmup-epochs", type=float, help="warm-up length for --schedule cosine")
    cli.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random rotation, zoom and shear of training batches",
    )
    cli.add_argument(
        "--ema-momentum",
        type=float,
        help="end with a moving average of the weights, this momentum (0: off)",
    )
    cli.add_argument("--label-smoothing", type=float, help="targets softened by this share, 0-1 (0: off)")
    cli.add_argument("--dropout-scale", type=float, help="the net's dropout rates times this (1: the tutorial's)")
    cli.add_argument(
        "--weight-decay",
        type=float,
        help="decoupled weight decay (AdamW's): each step shrinks the kernels by this times the rate (0: off)",
    )
    add_distillation_flags(cli)
    cli.add_argument("--rotation-degrees", type=float, help="largest random rotation (10)")
    cli.add_argument("--zoom", type=float, help="largest random zoom per axis (0.1)")
    cli.add_argument("--shear-degrees", type=float, help="largest random shear angle (0.1)")
    cli.add_argument("--shift-pixels", type=float, help="largest random shift (0 in the tutorial)")
    cli.add_argument(
        "--stroke-change", type=float, help="strokes grown or worn by up to this share of a pixel, 0-1 (0: off)"
    )
    cli.add_argument("--blur", type=float, help="up to this share of a one-pixel Gaussian blur, 0-1 (0: off)")
    cli.add_argument(
        "--elastic-pixels", type=float, help="elastic distortion of up to this many pixels, root mean square (0: off)"
    )
    cli.add_argument(
        "--holdout",
        type=int,
        help="keep the last N training images out of fitting; calibration and the 'not sure' threshold "
        "are chosen on them (quick and long recipes: 5000)",
    )
    cli.add_argument(
        "--non-digits", type=int, help="drawn non-digits added to training with a uniform target (recipes: 6000)"
    )
    cli.add_argument(
        "--views",
        type=int,
        choices=list(VIEWS),
        help="answer the mean over the image and copies moved by a pixel: 1, 5 or 9 views (the recipe's)",
    )
    cli.add_argument(
        "--non-digit-weight", type=float, help=f"each non-digit's weight in the loss ({defaults.non_digit_weight})"
    )
    cli.add_argument(
        "--mixed-precision",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train in mixed bfloat16 where the CPU computes it natively (quick and long recipes: yes)",
    )
    cli.add_argument("--seed", type=int, help=f"random seed ({defaults.seed})")
    cli.add_argument(
        "--data", help=f"Keras-layout mnist.npz or a folder of IDX files (default ${DATA_ENV}, else Keras's download)"
    )
    cli.add_argument("--limit", type=int, help="train on the first N training images only")
    cli.add_argument("--output", help=f"folder for run reports ({defaults.output})")
    cli.add_argument(
        "--save",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="put the model into the BentoML model store (default yes)",
    )
    cli.add_argument(
        "--if-missing",
        action="store_true",
        help="train only when the model store has no mnist_classifier yet (what `make serve` uses)",
    )
    cli.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        help="Keras progress: 1 a bar per batch (default), 2 a line per epoch, 0 none",
    )
    return cli


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The recipe named by --recipe or --model, with every flag that was given replacing its field."""
    overrides = {
        field.name: getattr(args, field.name)
        for field in fields(TrainConfig)
        if getattr(args, field.name, None) is not None
    }
    for listed in ("learning_rates", "teachers"):
        if listed in overrides:
            overrides[listed] = tuple(overrides[listed])
    return recipe_for(args.recipe or args.model or DEFAULT_MODEL, **overrides)


def stored_model() -> str | None:
    """Tag of the newest stored mnist_classifier, or None when the store has none."""
    import bentoml

    from model_contract import MODEL_NAME

    try:
        return str(bentoml.models.get(f"{MODEL_NAME}:latest").tag)
    except bentoml.exceptions.NotFound:
        return None


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    refuse_distillation_without_teachers(cli, args)
    if args.if_missing and (existing := stored_model()) is not None:
        print(f"the model store already has {existing}; not training (drop --if-missing to train anyway)")
        return 0
    try:
        config = config_from_args(args)
        run_training(config)
    except (DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
