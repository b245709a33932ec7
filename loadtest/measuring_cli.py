"""The command line every script that measures a stored model shares: which model, which data,
where the results go."""

from __future__ import annotations

import argparse

from service.settings import ServiceSettings


def measuring_cli(description: str, one_model: bool = True) -> argparse.ArgumentParser:
    """A parser with --tag (when the script measures one model), --data and --results; scripts add
    their own options to it."""
    cli = argparse.ArgumentParser(description=description)
    if one_model:
        cli.add_argument("--tag", default=ServiceSettings().model_tag, help="stored model ($MNIST_MODEL_TAG)")
    cli.add_argument("--data", help="mnist.npz ($MNIST_DATA, else download)")
    cli.add_argument("--results", default="results", help="output folder (results)")
    return cli
