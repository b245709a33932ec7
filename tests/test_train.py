"""Training on tiny made-up data: the loss goes down, schedules apply, the report is written."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest

from training.data import Mnist
from training.recipes import TrainConfig, recipe_for
from training.train import learning_rate, train


def separable_data(count: int = 256) -> Mnist:
    """Digit k is a bright square at row 2k: trivially learnable, so the loss must fall."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 30, (count, 28, 28)).astype(np.uint8)
    for index, label in enumerate(labels):
        images[index, 2 * label : 2 * label + 6, 8:20] = 250
    return Mnist(images, labels, images[:64], labels[:64], source="made up", sha256="0" * 64)


def test_loss_goes_down_and_accuracy_is_measured() -> None:
    config = TrainConfig(model="linear", epochs=3, batch_size=32, learning_rates=(1e-2,), augment=False, verbose=0)
    result = train(config, separable_data())
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.evaluation.accuracy > 0.9
    assert result.evaluation.confusion.sum() == 64
    assert len(result.epoch_seconds) == 3


def test_epoch_schedule_lowers_the_rate_in_the_second_epoch() -> None:
    config = TrainConfig(model="linear", epochs=2, batch_size=64, learning_rates=(1e-3, 1e-4), augment=False, verbose=0)
    result = train(config, separable_data())
    np.testing.assert_allclose(result.history["learning_rate"], [1e-3, 1e-4], rtol=1e-5)


def test_weight_average_ends_training_with_other_weights_than_the_same_run_without() -> None:
    config = TrainConfig(model="linear", epochs=2, batch_size=32, learning_rates=(1e-2,), augment=False, verbose=0)
    plain, again = (train(config, separable_data()).model.get_weights() for _ in range(2))
    averaged = train(replace(config, ema_momentum=0.9), separable_data())
    for first, second in zip(plain, again, strict=True):
        np.testing.assert_array_equal(first, second)  # the same seed trains the same weights here...
    moved = [not np.allclose(p, a) for p, a in zip(plain, averaged.model.get_weights(), strict=True)]
    assert any(moved)  # ...unless they are averaged
    assert averaged.evaluation.accuracy > 0.9


def test_label_smoothing_keeps_answers_off_full_certainty() -> None:
    config = TrainConfig(model="linear", epochs=4, batch_size=32, learning_rates=(1e-2,), augment=False, verbose=0)
    data = separable_data()
    plain = train(config, data).model.predict(data.x_test, verbose=0).max(axis=1)
    smoothed = train(replace(config, label_smoothing=0.3), data).model.predict(data.x_test, verbose=0).max(axis=1)
    assert np.median(plain) > 0.95
    assert np.median(smoothed) < 0.85  # the smoothed target for the right digit is 1 - 0.3 + 0.03 = 0.73


def test_weight_decay_shrinks_the_kernels_and_leaves_the_biases_to_the_gradient() -> None:
    config = TrainConfig(model="linear", epochs=3, batch_size=32, learning_rates=(1e-2,), augment=False, verbose=0)
    data = separable_data()
    plain, decayed = train(config, data), train(replace(config, weight_decay=5.0), data)
    kernels = [np.abs(result.model.layers[-1].kernel.numpy()).mean() for result in (plain, decayed)]
    assert kernels[1] < 0.7 * kernels[0]
    assert decayed.evaluation.accuracy > 0.9
    excluded = {v.name for v in decayed.model.trainable_variables if not decayed.model.optimizer._use_weight_decay(v)}
    assert excluded == {"bias"}


def test_cosine_schedule_warms_up_then_decays() -> None:
    config = TrainConfig(schedule="cosine", epochs=4, learning_rates=(1e-2,), warmup_epochs=1)
    schedule, callbacks = learning_rate(config, steps_per_epoch=10)
    assert callbacks == []
    rates = [float(schedule(step)) for step in (0, 10, 39)]
    assert rates[0] < rates[1] and rates[1] == pytest.approx(1e-2) and rates[2] < 1e-3


def test_unknown_recipe_and_model_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown recipe"):
        recipe_for("resnet")
    with pytest.raises(ValueError, match="unknown model"):
        train(TrainConfig(model="resnet"), separable_data())
    with pytest.raises(ValueError, match="give --holdout too"):
        train(TrainConfig(model="linear", views=5), separable_data())


def test_run_writes_report_and_stores_the_model(tmp_path: Path) -> None:
    import bentoml

    from training.pipeline import run_training

    config = TrainConfig(model="linear", epochs=1, augment=True, verbose=0, output=str(tmp_path))
    summary = run_training(config, separable_data())
    folder = Path(summary["report_folder"])
    for name in (
        "learning_curves.png",
        "confusion_matrix.png",
        "augmented_samples.png",
        "mistakes.png",
        "summary.json",
        "summary.md",
    ):
        assert (folder / name).stat().st_size > 0, name
    stored = bentoml.models.get(summary["model_tag"])
    assert stored.info.metadata["architecture"] == "linear"
    assert stored.info.metadata["training_options"]["epochs"] == 1


def test_sweep_step_rates_drop_after_the_given_epoch() -> None:
    from training.sweep import step_rates

    assert step_rates(10, 9, 1e-3, 1e-4) == (1e-3,) * 9 + (1e-4,)
    assert step_rates(10, 10, 1e-3, 1e-4) == (1e-3,) * 10
    assert step_rates(3, 0, 1e-3, 1e-4) == (1e-4,) * 3


def test_sweep_tries_every_combination_of_a_cosine_recipe() -> None:
    from argparse import Namespace

    from training.recipes import RECIPES
    from training.sweep import VARIED_SETTINGS, cosine_grid

    unset = dict.fromkeys(VARIED_SETTINGS)
    asked = Namespace(epochs=[5, 6], batch_sizes=[128, 256], rates=[3e-3], **unset)
    grid = list(cosine_grid(RECIPES["quick"], asked))
    assert [(c.epochs, c.batch_size, c.learning_rates) for _, c in grid] == [
        (5, 128, (3e-3,)),
        (5, 256, (3e-3,)),
        (6, 128, (3e-3,)),
        (6, 256, (3e-3,)),
    ]
    pens = Namespace(
        epochs=None,
        batch_sizes=[128],
        rates=None,
        **unset | {"stroke_change": [0, 1], "blur": [0.5], "elastic_pixels": [0, 2], "shift_pixels": [3]},
    )
    described, configs = zip(*cosine_grid(RECIPES["quick"], pens), strict=True)
    assert [(c.stroke_change, c.blur, c.elastic_pixels, c.shift_pixels) for c in configs] == [
        (0, 0.5, 0, 3),
        (0, 0.5, 2, 3),
        (1, 0.5, 0, 3),
        (1, 0.5, 2, 3),
    ]
    assert described[3].endswith("stroke change 1, blur 0.5, elastic pixels 2, shift pixels 3")
    assert all(c.rotation_degrees == RECIPES["quick"].rotation_degrees for c in configs)
    assert all(c.schedule == "cosine" and c.shift_pixels == RECIPES["quick"].shift_pixels for _, c in grid)
    assert grid[0][0] == "5 epochs, batch 128, peak 0.003"


@pytest.mark.parametrize("views", [1, 5])
def test_holdout_calibrates_and_the_stored_model_serves_the_calibrated_answers(tmp_path: Path, views: int) -> None:
    import bentoml

    import model_contract as contract
    from service.model_runtime import load_classifier
    from training.pipeline import run_training

    data = separable_data(count=512)
    config = TrainConfig(
        model="linear",
        epochs=2,
        augment=False,
        holdout=128,
        non_digits=64,
        views=views,
        verbose=0,
        output=str(tmp_path),
    )
    summary = run_training(config, data)
    assert summary["history"]["accuracy"][-1] > 0.9  # the non-digits are not counted as misses
    calibration = summary[contract.META_CALIBRATION]
    assert calibration["held_out_images"] == 128 and calibration["temperature"] > 0
    assert 0 < summary[contract.META_UNSURE_BELOW] == calibration["unsure_below"] <= 1
    stored = bentoml.models.get(summary["model_tag"])
    assert contract.unsure_below(stored.info.metadata) == summary[contract.META_UNSURE_BELOW]
    served = load_classifier(stored.path, "tensorflow").probabilities(data.x_test.astype(np.float32))
    kept = keras.saving.load_model(stored.path_of(contract.KERAS_FILE), safe_mode=True)
    np.testing.assert_allclose(served, kept.predict(data.x_test.astype(np.float32), verbose=0), atol=1e-5)
    assert ("views" in [layer.name for layer in kept.layers]) == (views > 1)
    assert stored.info.metadata["architecture"] == ("linear" if views == 1 else "linear, mean over 5 views")


def test_without_holdout_there_is_no_calibration_and_the_fixed_threshold_applies() -> None:
    import model_contract as contract

    result = train(TrainConfig(model="linear", epochs=1, augment=False, verbose=0), separable_data())
    assert result.calibration is None
    assert contract.unsure_below({}) == contract.UNCALIBRATED_UNSURE_BELOW
