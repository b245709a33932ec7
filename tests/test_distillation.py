"""Distillation: each digit's target mixes its label with stored teachers' softened answers."""

from __future__ import annotations

from pathlib import Path

import bentoml
import keras
import numpy as np
import pytest

import model_contract as contract
from tests.test_shifted_views import moved_by_numpy
from tests.test_train import separable_data
from training.calibration import softmax
from training.distillation import mixed_targets, one_view_logits
from training.recipes import TrainConfig
from training.shifted_views import VIEWS
from training.train import one_hot, training_examples


def stored_teacher(tmp_path: Path, views: int, seed: int) -> bentoml.Model:
    """A calibrated linear net trained on made-up digits, in the store (answering over `views`)."""
    from training.pipeline import run_training

    config = TrainConfig(
        model="linear", epochs=2, augment=False, holdout=128, views=views, seed=seed, verbose=0, output=str(tmp_path)
    )
    return bentoml.models.get(run_training(config, separable_data(count=512))["model_tag"])


def served_answers(stored: bentoml.Model, images: np.ndarray) -> np.ndarray:
    kept = keras.saving.load_model(stored.path_of(contract.KERAS_FILE), safe_mode=True)
    return kept.predict(images, verbose=0)


def test_a_teacher_answers_one_view_of_its_net_in_its_calibrated_scale(tmp_path: Path) -> None:
    images = separable_data().x_test[:16].astype(np.float32)
    one_view = stored_teacher(tmp_path, views=1, seed=0)
    np.testing.assert_allclose(softmax(one_view_logits(one_view, images)), served_answers(one_view, images), atol=1e-5)
    # A teacher answering over five views: the mean of its one-view logits over the moved copies
    # is what it serves, so one view is the net alone, divided by the same temperature.
    five_views = stored_teacher(tmp_path, views=5, seed=1)
    per_view = [one_view_logits(five_views, moved_by_numpy(images, *move)) for move in VIEWS[5]]
    np.testing.assert_allclose(softmax(np.mean(per_view, axis=0)), served_answers(five_views, images), atol=1e-5)
    assert not np.allclose(per_view[0], np.mean(per_view, axis=0), atol=1e-3)  # the views do differ


def test_digit_targets_mix_label_and_teachers_and_non_digits_stay_uniform(tmp_path: Path) -> None:
    teachers = [stored_teacher(tmp_path, views=1, seed=seed) for seed in (2, 3)]
    data = separable_data(count=64)
    config = TrainConfig(
        non_digits=8, teachers=tuple(str(t.tag) for t in teachers), distillation=0.3, distillation_temperature=2.0
    )
    images, targets, weights = training_examples(data.x_train, data.y_train, config)
    teachers_logits = np.mean([one_view_logits(t, data.x_train.astype(np.float32)) for t in teachers], axis=0)
    expected = 0.7 * one_hot(data.y_train) + 0.3 * softmax(teachers_logits, 2.0)
    np.testing.assert_allclose(targets[:64], expected, atol=1e-6)
    np.testing.assert_allclose(targets[64:], np.full((8, 10), 0.1), atol=1e-7)
    assert len(images) == len(weights) == 72
    assert (targets[:64].argmax(axis=1) == data.y_train).all()  # trained teachers agree with the labels


def test_mixed_targets_are_distributions_and_soften_with_temperature() -> None:
    labels = one_hot(np.array([3, 7]))
    logits = np.array([[0.0] * 3 + [8.0] + [2.0] + [0.0] * 5, [1.0] * 7 + [6.0] + [1.0] * 2])
    warm, hot = mixed_targets(labels, logits, 1.0, 1.0), mixed_targets(labels, logits, 1.0, 4.0)
    np.testing.assert_allclose(warm, softmax(logits), rtol=1e-6)
    assert hot.max(axis=1).tolist() < warm.max(axis=1).tolist()  # a hotter teacher shows its second choices
    half = mixed_targets(labels, logits, 0.5, 4.0)
    np.testing.assert_allclose(half.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(half, 0.5 * labels + 0.5 * hot, rtol=1e-6)


@pytest.mark.parametrize(
    ("share", "temperature", "message"), [(0.0, 3.0, "share"), (1.5, 3.0, "share"), (0.5, 0.0, "temperature")]
)
def test_a_share_or_temperature_out_of_range_is_refused(share: float, temperature: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mixed_targets(one_hot(np.array([1])), np.zeros((1, 10)), share, temperature)


def test_an_uncalibrated_teacher_is_refused_by_name(tiny_model: str) -> None:
    with pytest.raises(ValueError, match=f"teacher {tiny_model} is not calibrated"):
        one_view_logits(bentoml.models.get(tiny_model), np.zeros((1, 28, 28), np.float32))


def test_the_training_command_names_teachers_share_and_temperature() -> None:
    from training.cli import config_from_args, parser

    asked = "--recipe long --teachers mnist_classifier:a mnist_classifier:b --distillation 0.4"
    config = config_from_args(parser().parse_args([*asked.split(), "--distillation-temperature", "2"]))
    assert config.teachers == ("mnist_classifier:a", "mnist_classifier:b")  # a tuple: the config stays hashable
    assert (config.distillation, config.distillation_temperature, config.epochs) == (0.4, 2.0, 32)
    assert config_from_args(parser().parse_args(["--recipe", "long"])).teachers == ()


def test_a_distillation_setting_without_teachers_stops_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    from training.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["--recipe", "long", "--distillation-temperature", "4", "--no-save"])
    assert stopped.value.code == 2
    assert "--teachers: name them" in capsys.readouterr().err
