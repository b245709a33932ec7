"""`python -m training.promote TAG`: mark a stored model version as the one to serve.

The mark is a BentoML model label, `stage=production`, carried by one version of the model at a
time: promoting a version takes the label from the one that had it (its stage becomes `previous`).
`bentoml models get TAG` shows it, and the service serves the promoted version when it is started
without `MNIST_MODEL_TAG`. Promotion changes the store only: running services keep their model
until they restart, as a rolling update replaces them.
"""

from __future__ import annotations

import argparse
import sys

import bentoml

import model_contract as contract

PREVIOUS_STAGE = "previous"


def promote(tag: str) -> tuple[bentoml.Model, list[bentoml.Model]]:
    """Label `tag` as promoted and every other promoted version of its model as previous."""
    chosen = bentoml.models.get(tag)
    demoted = []
    for model in bentoml.models.list(chosen.tag.name):
        stage = model.info.labels.get(contract.STAGE_LABEL)
        if model.tag != chosen.tag and stage == contract.PROMOTED_STAGE:
            set_stage(model, PREVIOUS_STAGE)
            demoted.append(model)
    set_stage(chosen, contract.PROMOTED_STAGE)
    return chosen, demoted


def set_stage(model: bentoml.Model, stage: str) -> None:
    """BentoML has no call to relabel a stored model; its model.yaml is rewritten by `flush`."""
    model.info.labels[contract.STAGE_LABEL] = stage
    model.flush()


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m training.promote", description=__doc__.splitlines()[0])
    cli.add_argument("tag", help="the stored model to serve, e.g. mnist_classifier:abc123 (or :latest)")
    args = cli.parse_args(argv)
    try:
        chosen, demoted = promote(args.tag)
    except bentoml.exceptions.NotFound as error:
        print(f"promote: {error}", file=sys.stderr)
        return 2
    for model in demoted:
        print(f"{model.tag}: {contract.STAGE_LABEL}={PREVIOUS_STAGE}")
    print(f"{chosen.tag}: {contract.STAGE_LABEL}={contract.PROMOTED_STAGE}; served when MNIST_MODEL_TAG is not set")
    return 0


if __name__ == "__main__":
    sys.exit(main())
