"""A training run's report: PNG plots people look at, and a JSON and markdown summary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from model_contract import NUM_CLASSES
from results_output import pyplot, save_figure
from training.augment import training_dataset
from training.data import Mnist
from training.recipes import TrainConfig
from training.train import TrainResult, augment_config

plt = pyplot()

GRID_COLUMNS = 8
MISTAKES_SHOWN = 24


def plot_learning_curves(history: dict[str, list[float]], path: Path) -> None:
    """Loss and accuracy per epoch, training beside test (the tutorial validated on test)."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for axis, metric in zip(axes, ("loss", "accuracy"), strict=True):
        axis.plot(epochs, history[metric], "o-", label="training")
        if f"val_{metric}" in history:
            axis.plot(epochs, history[f"val_{metric}"], "o-", label="test")
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    save_figure(figure, path)


def plot_confusion_matrix(confusion: np.ndarray, path: Path) -> None:
    """Counts of true digit (rows) against predicted digit (columns) on the test set."""
    figure, axis = plt.subplots(figsize=(6.5, 6))
    axis.imshow(np.log1p(confusion), cmap="Blues")
    for true in range(NUM_CLASSES):
        for predicted in range(NUM_CLASSES):
            count = confusion[true, predicted]
            if count:
                colour = "white" if true == predicted else "black"
                axis.text(predicted, true, str(count), ha="center", va="center", fontsize=8, color=colour)
    axis.set_xticks(range(NUM_CLASSES))
    axis.set_yticks(range(NUM_CLASSES))
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title("confusion matrix (test set)")
    save_figure(figure, path)


def plot_image_grid(images: np.ndarray, titles: list[str], path: Path, heading: str) -> None:
    """Images in rows of eight, each with a short title, as the tutorial showed its samples."""
    rows = max(1, -(-len(images) // GRID_COLUMNS))
    figure, axes = plt.subplots(rows, GRID_COLUMNS, figsize=(GRID_COLUMNS * 1.3, rows * 1.5))
    for index, axis in enumerate(np.atleast_1d(axes).ravel()):
        axis.axis("off")
        if index < len(images):
            axis.imshow(images[index], cmap="gray", vmin=0, vmax=255)
            axis.set_title(titles[index], fontsize=8)
    figure.suptitle(heading)
    save_figure(figure, path)


def most_confident_mistakes(probabilities: np.ndarray, labels: np.ndarray, count: int = MISTAKES_SHOWN) -> np.ndarray:
    """Indices of wrong predictions, the most confident first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence)][:count]


def write_summary(summary: dict, folder: Path) -> None:
    """summary.json for machines, summary.md for people."""
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [f"# Training run: {summary['architecture']}", "", "| | |", "| --- | --- |"]
    for key in ("test_accuracy", "test_loss", "parameters", "trainable_parameters", "training_seconds"):
        lines.append(f"| {key.replace('_', ' ')} | {summary[key]} |")
    lines += ["", "Per-class test accuracy:", "", "| digit | " + " | ".join(map(str, range(NUM_CLASSES))) + " |"]
    lines.append("| --- " * (NUM_CLASSES + 1) + "|")
    lines.append("| accuracy | " + " | ".join(f"{a:.4f}" for a in summary["per_class_accuracy"]) + " |")
    lines += ["", "Plots: learning_curves.png, confusion_matrix.png, augmented_samples.png, mistakes.png", ""]
    (folder / "summary.md").write_text("\n".join(lines))


def write_report(folder: Path, result: TrainResult, data: Mnist, config: TrainConfig) -> None:
    """All four plots of a run into `folder`."""
    plot_learning_curves(result.history, folder / "learning_curves.png")
    plot_confusion_matrix(result.evaluation.confusion, folder / "confusion_matrix.png")
    augment = augment_config(config)
    samples = training_dataset(data.x_train, data.y_train, GRID_COLUMNS * 4, config.seed, augment)
    images, labels = next(iter(samples))
    heading = "augmented training samples" if augment else "training samples (no augmentation)"
    plot_image_grid(images.numpy(), [str(int(v)) for v in labels], folder / "augmented_samples.png", heading)
    probabilities = result.evaluation.probabilities
    mistakes = most_confident_mistakes(probabilities, data.y_test)
    predicted = probabilities.argmax(axis=1)
    titles = [f"{data.y_test[i]}→{predicted[i]} {probabilities[i].max():.2f}" for i in mistakes]
    plot_image_grid(
        data.x_test[mistakes], titles, folder / "mistakes.png", "most confident mistakes (true→predicted, confidence)"
    )
