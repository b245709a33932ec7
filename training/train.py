"""Fit one of the five models with a `TrainConfig` and measure it on the MNIST test set."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import keras
import numpy as np

from model_contract import NUM_CLASSES
from training.augment import AugmentConfig, training_dataset
from training.calibration import Calibration, calibrate, logits_model
from training.data import Mnist
from training.models import ARCHITECTURES, with_dropout_scaled
from training.non_digits import TRAINING_FONT_PACKAGES, fonts_from, non_digit_images
from training.precision import FLOAT32, dtype_policy, float32_copy, training_policy
from training.recipes import TrainConfig
from training.shifted_views import averaged_over_views

EVAL_BATCH_SIZE = 1000


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of every epoch, for the reports and the benchmarks."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._started)


class DigitAccuracy(keras.metrics.Metric):
    """Accuracy on the digits of a batch only: a drawn non-digit's target (uniform) names no digit,
    and counting it as a miss would put the training curve 9 points under the test curve."""

    def __init__(self, name: str = "accuracy", **kwargs: object) -> None:
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.digits = self.add_variable(shape=(), initializer="zeros", name="digits")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        is_digit = keras.ops.cast(keras.ops.max(y_true, axis=-1) > 0.5, "float32")
        hit = keras.ops.cast(keras.ops.argmax(y_true, axis=-1) == keras.ops.argmax(y_pred, axis=-1), "float32")
        self.correct.assign_add(keras.ops.sum(hit * is_digit))
        self.digits.assign_add(keras.ops.sum(is_digit))

    def result(self):
        return self.correct / keras.ops.maximum(self.digits, 1.0)

    def reset_state(self) -> None:
        self.correct.assign(0.0)
        self.digits.assign(0.0)


@dataclass
class Evaluation:
    """How a model does on the test set."""

    accuracy: float
    loss: float
    per_class_accuracy: list[float]
    confusion: np.ndarray  # confusion[true, predicted] counts
    probabilities: np.ndarray


@dataclass
class TrainResult:
    model: keras.Model
    history: dict[str, list[float]]
    epoch_seconds: list[float]
    seconds: float
    evaluation: Evaluation
    mean: float
    std: float
    precision: str  # the Keras dtype policy the training steps ran under
    calibration: Calibration | None  # None: the recipe held no images out to calibrate on


def augment_config(config: TrainConfig) -> AugmentConfig | None:
    """The augmentation a config asks for, or None for plain batches."""
    if not config.augment:
        return None
    return AugmentConfig(
        config.rotation_degrees,
        config.zoom,
        config.shear_degrees,
        config.shift_pixels,
        config.stroke_change,
        config.blur,
        config.elastic_pixels,
    )


def learning_rate(config: TrainConfig, steps_per_epoch: int) -> tuple[object, list]:
    """The optimizer's learning rate and the callbacks that drive it, for the config's schedule."""
    if config.schedule == "cosine":
        peak = config.learning_rates[0]
        warmup_steps = int(config.warmup_epochs * steps_per_epoch)
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=peak / 10,
            decay_steps=config.epochs * steps_per_epoch - warmup_steps,
            warmup_target=peak,
            warmup_steps=warmup_steps,
        )
        return schedule, []
    if config.schedule == "epochs":
        rates = config.learning_rates
        by_epoch = keras.callbacks.LearningRateScheduler(lambda epoch: rates[min(epoch, len(rates) - 1)])
        return rates[0], [by_epoch]
    raise ValueError(f"unknown schedule '{config.schedule}': choose 'epochs' or 'cosine'")


def optimizer(config: TrainConfig, rate: object, model: keras.Model) -> keras.optimizers.Optimizer:
    """Adam at the schedule's rate, with the config's weight average and decoupled weight decay.

    Decay reaches the kernels only: in the tutorial's final net every kernel feeds a batch norm or
    the logits, where shrinking it regularises; shrinking a bias or a batch norm's scale and shift
    would only move what the net answers."""
    weight_average = {"use_ema": True, "ema_momentum": config.ema_momentum} if config.ema_momentum else {}
    adam = keras.optimizers.Adam(learning_rate=rate, weight_decay=config.weight_decay or None, **weight_average)
    if config.weight_decay:
        adam.exclude_from_weight_decay(var_list=[v for v in model.trainable_variables if v.name != "kernel"])
    return adam


def one_hot(labels: np.ndarray) -> np.ndarray:
    return keras.utils.to_categorical(labels, NUM_CLASSES).astype(np.float32)


def training_examples(images: np.ndarray, labels: np.ndarray, config: TrainConfig) -> tuple[np.ndarray, ...]:
    """Images, targets and loss weights: the digits (their labels, mixed with the teachers' answers
    where the config names teachers), then `config.non_digits` drawn non-digits whose target is
    the uniform distribution."""
    extra = non_digit_images(config.non_digits, config.seed, fonts_from(TRAINING_FONT_PACKAGES))
    digit_targets = one_hot(labels)
    if config.teachers:
        from training.distillation import distilled_targets  # not at the top: training.store imports this module

        digit_targets = distilled_targets(
            digit_targets, images, config.teachers, config.distillation, config.distillation_temperature
        )
    targets = np.concatenate([digit_targets, np.full((len(extra), NUM_CLASSES), 1 / NUM_CLASSES, np.float32)])
    weights = np.concatenate([np.ones(len(images)), np.full(len(extra), config.non_digit_weight)])
    return np.concatenate([images, extra]).astype(np.float32), targets, weights


def evaluate(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Accuracy, cross-entropy, per-class accuracy and confusion matrix on labelled images."""
    probabilities = model.predict(images.astype(np.float32), batch_size=EVAL_BATCH_SIZE, verbose=0)
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    picked = probabilities[np.arange(len(labels)), labels]
    return Evaluation(
        accuracy=float((predicted == labels).mean()),
        loss=float(-np.log(np.clip(picked, 1e-7, 1.0)).mean()),
        per_class_accuracy=[round(float(a), 5) for a in per_class],
        confusion=confusion,
        probabilities=probabilities,
    )


def train(config: TrainConfig, data: Mnist) -> TrainResult:
    """Build the config's model with the data's pixel statistics, fit it, and evaluate it."""
    if config.model not in ARCHITECTURES:
        raise ValueError(f"unknown model '{config.model}': choose one of {', '.join(ARCHITECTURES)}")
    if config.views > 1 and not config.holdout:
        raise ValueError("views are averaged before calibration: give --holdout too")
    keras.utils.set_random_seed(config.seed)
    fitted = data.holdout(config.holdout) if config.holdout else data  # its "test" images: the held-out ones
    mean, std = float(fitted.x_train.mean()), float(fitted.x_train.std())

    def build() -> keras.Model:
        return with_dropout_scaled(ARCHITECTURES[config.model](mean, std), config.dropout_scale)

    policy = training_policy(config.mixed_precision)
    images, targets, weights = training_examples(fitted.x_train, fitted.y_train, config)
    steps_per_epoch = -(-len(images) // config.batch_size)
    rate, schedule_callbacks = learning_rate(config, steps_per_epoch)
    with dtype_policy(policy):
        model = build()
    model.compile(
        optimizer=optimizer(config, rate, model),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=[DigitAccuracy()],
    )
    batches = training_dataset(
        images, targets, config.batch_size, config.seed, augment_config(config), weights, endless=True
    )
    timer = EpochTimer()
    started = time.perf_counter()
    history = model.fit(
        batches,
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=(data.x_test.astype(np.float32), one_hot(data.y_test)),
        validation_batch_size=EVAL_BATCH_SIZE,
        callbacks=[timer, *schedule_callbacks],
        verbose=progress_verbosity(config.verbose),
        shuffle=False,  # the dataset shuffles itself
    )
    seconds = time.perf_counter() - started
    if policy != FLOAT32:
        model = float32_copy(model, build)
    calibration = None
    if config.holdout:
        held_out, test = (fitted.x_test, fitted.y_test), (data.x_test, data.y_test)
        logits = averaged_over_views(logits_model(model), config.views)
        model, calibration = calibrate(logits, held_out, test, config.seed, model.name)
    return TrainResult(
        model=model,
        history={key: [float(v) for v in values] for key, values in history.history.items()},
        epoch_seconds=timer.seconds,
        seconds=seconds,
        evaluation=evaluate(model, data.x_test, data.y_test),
        mean=mean,
        std=std,
        precision=policy,
        calibration=calibration,
    )


def progress_verbosity(requested: int) -> int:
    """Keras's progress bar (1) redraws its line on every batch: right on a terminal, megabytes of
    redraws in a log file. Written to anything else, one line per epoch (2) instead."""
    return 2 if requested == 1 and not sys.stdout.isatty() else requested
