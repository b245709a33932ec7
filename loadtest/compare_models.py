"""Stored models side by side as the service runs them: accuracy, calibration, flags and cost.

    python -m loadtest.compare_models TAG TAG ... [--name ensemble]

For an ensemble against its members: test accuracy, expected calibration error, the share of test
digits flagged "unsure", latency at batch 1 and throughput at batch 256 on the serving runtime,
all in one run. Writes results/<name>.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import model_contract as contract
from loadtest.bench_inprocess import LATENCY_CALLS, THROUGHPUT_BATCH, images_per_second, latency_ms
from loadtest.measuring_cli import measuring_cli, served_model
from loadtest.payloads import load_digits
from results_output import machine_description, write_markdown
from training.calibration import expected_calibration_error


def main() -> None:
    cli = measuring_cli(__doc__.splitlines()[0], one_model=False)
    cli.add_argument("tags", nargs="+", help="stored models to compare")
    cli.add_argument("--name", default="compared_models", help="results file name (compared_models)")
    args = cli.parse_args()

    images, labels = load_digits(args.data, None)
    pixels = images.astype(np.float32)
    lines = [
        f"Measured with {machine_description()}; MNIST's 10,000 test images; batch 1: median of "
        f"{LATENCY_CALLS:,} calls; batch {THROUGHPUT_BATCH}: images per second. `python -m loadtest.compare_models "
        + " ".join(args.tags)
        + "`.",
        "",
        "| model | parameters | test accuracy | ECE | test digits flagged | runtime | batch 1, ms | "
        f"batch {THROUGHPUT_BATCH}, images/s |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for tag in args.tags:
        stored, classifier = served_model(tag)
        metadata = stored.info.metadata
        probabilities = classifier.probabilities(pixels)
        accuracy = float((probabilities.argmax(axis=1) == labels).mean())
        flagged = float((probabilities.max(axis=1) < contract.unsure_below(metadata)).mean())
        median, _ = latency_ms(classifier.probabilities, pixels[:1], LATENCY_CALLS)
        throughput = images_per_second(classifier.probabilities, pixels[:THROUGHPUT_BATCH])
        lines.append(
            f"| {stored.tag} ({metadata.get(contract.META_ARCHITECTURE)}) | {metadata.get(contract.META_PARAMETERS):,} "
            f"| {accuracy:.2%} | {expected_calibration_error(probabilities, labels):.3%} | {flagged:.2%} "
            f"| {classifier.runtime}, {classifier.precision} | {median:.3f} | {throughput:,.0f} |"
        )
        print(lines[-1], flush=True)
    write_markdown(lines, Path(args.results) / f"{args.name}.md")


if __name__ == "__main__":
    main()
