"""The command line every script that measures a stored model shares: which model, which data,
where the results go."""

from __future__ import annotations

import argparse

import bentoml

from service.model_runtime import Classifier, load_classifier
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


def served_model(tag: str) -> tuple[bentoml.Model, Classifier]:
    """The stored model and its classifier, loaded by the runtime the service would choose."""
    stored = bentoml.models.get(tag)
    return stored, load_classifier(stored.path)
