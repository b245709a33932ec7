"""One training run from data to store: load, fit, write the report, save to the model store.

What `python -m training`, `training.reproduce`, `training.sweep` and the tests all run.
"""

from __future__ import annotations

import time
from pathlib import Path

import model_contract as contract
from training.data import Mnist, load_mnist
from training.recipes import TrainConfig


def run_training(config: TrainConfig, data: Mnist | None = None) -> dict:
    """Load data, fit, write the report, save to the store; returns the run's summary."""
    from training.report import write_report, write_summary
    from training.store import model_metadata, save_to_store
    from training.train import train

    data = (data or load_mnist(config.data)).limited(config.limit)
    print(f"data: {len(data.x_train)} training and {len(data.x_test)} test images from {data.source}")
    folder = new_report_folder(
        Path(config.output), f"{time.strftime('%Y%m%d-%H%M%S')}-{config.model}-seed{config.seed}"
    )
    result = train(config, data)
    metadata = model_metadata(result, config, data)
    summary = {
        **metadata,
        "epoch_seconds": [round(s, 1) for s in result.epoch_seconds],
        "history": result.history,
        "report_folder": str(folder),
    }
    write_report(folder, result, data, config)
    write_summary(summary, folder)
    print(
        f"test accuracy {result.evaluation.accuracy:.2%}, loss {result.evaluation.loss:.4f}, "
        f"{result.seconds:.0f} s; report in {folder}/"
    )
    if config.save:
        stored = save_to_store(result.model, metadata, data.x_test[: contract.CHECK_BATCH_IMAGES], folder)
        summary["model_tag"] = str(stored.tag)
        write_summary(summary, folder)
        print(f"saved to the BentoML model store as {stored.tag}")
    return summary


def new_report_folder(output: Path, name: str) -> Path:
    """A folder of this run's own: runs started in the same second (a sweep, the tests) get `-2`, `-3`."""
    attempt = 1
    while True:
        folder = output / (name if attempt == 1 else f"{name}-{attempt}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            attempt += 1
