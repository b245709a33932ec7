"""Which stored model the service serves, decided once when the service is imported."""

from __future__ import annotations

import os

import bentoml

import model_contract as contract
from service.settings import ServiceSettings


def served_model_tag(settings: ServiceSettings) -> bentoml.Tag:
    """The stored model to serve, its version resolved ("latest" becomes the version it is):
    `MNIST_MODEL_TAG` when it is set, else the version `python -m training.promote` marked, else
    the latest.

    Checked here, when the service is imported, so that `bentoml serve` with an empty store
    stops with one line that says how to train a model instead of a traceback from a worker.
    """
    tag = settings.model_tag
    if "model_tag" not in settings.model_fields_set:
        promoted = [
            model
            for model in stored_versions(contract.MODEL_NAME)
            if model.info.labels.get(contract.STAGE_LABEL) == contract.PROMOTED_STAGE
        ]
        tag = str(promoted[0].tag) if promoted else tag
    return stored_tag(tag)


def stored_versions(name: str) -> list[bentoml.Model]:
    try:
        return bentoml.models.list(name)
    except bentoml.exceptions.NotFound:  # BentoML's answer for a name with no versions at all
        return []


def canary_model_tag(settings: ServiceSettings, served: bentoml.Tag) -> bentoml.Tag | None:
    """The canary (`MNIST_CANARY_TAG`), a version of the same model as the one served, or None."""
    if settings.canary_tag is None:
        return None
    canary = stored_tag(settings.canary_tag)
    if canary.name != served.name or canary.version == served.version:
        raise ValueError(f"MNIST_CANARY_TAG {canary} must be another version of {served.name} than {served}")
    return canary


def stored_tag(tag: str) -> bentoml.Tag:
    try:
        return bentoml.models.get(tag).tag
    except bentoml.exceptions.NotFound:
        raise bentoml.exceptions.NotFound(
            f"no model '{tag}' in the BentoML store at {os.environ.get('BENTOML_HOME', '~/bentoml')}; train one "
            "first: python -m training --data ../shared/data/mnist.npz  (or: make train)"
        ) from None
