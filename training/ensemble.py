"""Several stored nets served as one model: one SavedModel that averages their logits.

    python -m training.ensemble mnist_classifier:aaa mnist_classifier:bbb mnist_classifier:ccc

Nets trained from different seeds make different mistakes, so together they make fewer. The
members are read from their `.keras` files in safe mode; each must have been calibrated on the
same held-out training images (the quick and long recipes hold out the last 5,000), because the
ensemble's own temperature and "not sure" threshold are chosen on those images again. Averaging
calibrated logits (a geometric mean of the probabilities) keeps the ensemble one graph of plain
layers, which every runtime serves and OpenVINO converts. Stored as a new version; it costs the
members' compute together, as `loadtest.compare_models` shows.
"""

from __future__ import annotations

import argparse
import time

import bentoml
import keras
from keras import layers

import model_contract as contract
from training.calibration import calibrate
from training.data import load_mnist
from training.store import measured_metadata, save_to_store, stored_keras_model
from training.train import evaluate


class EnsembleError(Exception):
    """Members that cannot be served together; the message says which and why."""


def member_logits(member: keras.Model, index: int) -> keras.Model:
    """A calibrated net's logits divided by its temperature: the input of its final softmax."""
    return keras.Model(member.inputs[0], member.layers[-1].input, name=f"member_{index}")


def ensemble_logits(members: list[keras.Model]) -> keras.Model:
    """One model answering the mean of the members' calibrated logits."""
    pixels = keras.Input(shape=contract.INPUT_SHAPE)
    logits = [member_logits(member, index)(pixels) for index, member in enumerate(members)]
    return keras.Model(pixels, layers.Average(name="mean_logits")(logits), name=f"ensemble_of_{len(members)}")


def held_out_images(stored: list[bentoml.Model]) -> int:
    """How many training images the members held out: the same for all, or an error."""
    counts = [(model.info.metadata.get(contract.META_CALIBRATION) or {}).get("held_out_images") for model in stored]
    if len(set(counts)) != 1 or counts[0] is None:
        raise EnsembleError(
            "every member must be calibrated on the same held-out images (train them with the quick or long "
            f"recipe); held out: {', '.join(f'{m.tag}: {c}' for m, c in zip(stored, counts, strict=True))}"
        )
    return counts[0]


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("tags", nargs="+", help="stored models to average (at least two)")
    cli.add_argument("--data", help="mnist.npz or IDX folder (default $MNIST_DATA, else download)")
    cli.add_argument("--seed", type=int, default=42, help="seed of the drawn non-digits measured (42)")
    args = cli.parse_args()
    if len(args.tags) < 2:
        raise SystemExit("an ensemble needs at least two stored models")

    stored = [bentoml.models.get(tag) for tag in args.tags]
    try:
        holdout = held_out_images(stored)
    except EnsembleError as error:
        raise SystemExit(str(error)) from None
    members = [stored_keras_model(model) for model in stored]
    data = load_mnist(args.data)
    fitted = data.holdout(holdout)
    started = time.perf_counter()
    held_out, test = (fitted.x_test, fitted.y_test), (data.x_test, data.y_test)
    model, calibration = calibrate(ensemble_logits(members), held_out, test, args.seed, f"ensemble_of_{len(members)}")
    evaluation = evaluate(model, data.x_test, data.y_test)
    members_seconds = sum(model.info.metadata.get(contract.META_TRAINING_SECONDS, 0) for model in stored)
    metadata = {
        contract.META_ARCHITECTURE: f"ensemble of {len(members)} {stored[0].info.metadata[contract.META_ARCHITECTURE]}",
        **measured_metadata(model, evaluation, calibration, data),
        contract.META_TRAINING_OPTIONS: {"members": [str(model.tag) for model in stored]},
        contract.META_TRAINING_SECONDS: round(members_seconds + time.perf_counter() - started, 1),
    }
    saved = save_to_store(model, metadata, data.x_test[: contract.CHECK_BATCH_IMAGES], report_folder=None)
    print(
        f"ensemble of {len(members)}: test accuracy {evaluation.accuracy:.2%} (members: "
        + ", ".join(f"{m.info.metadata[contract.META_TEST_ACCURACY]:.2%}" for m in stored)
        + f"); calibration error {calibration.test_ece_after:.3%}; saved as {saved.tag}"
    )


if __name__ == "__main__":
    main()
