"""Are the served confidences probabilities? Calibration error on the MNIST test set, before and
after the temperature training fitted on held-out digits, and the reliability diagram.

    python -m loadtest.calibration_report [--tag mnist_classifier:...]

The served model has the temperature T built in, so its log-probabilities are logits / T plus a
constant: multiplying them by T and taking the softmax again gives the answers before calibration.
Writes results/calibration.md and results/reliability.png.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import model_contract as contract
from loadtest.measuring_cli import measuring_cli, served_model
from loadtest.payloads import load_digits
from results_output import machine_description, pyplot, save_figure, write_markdown
from training.calibration import ECE_BINS, confidence_bins, expected_calibration_error, softmax


def plot_reliability(answers: dict[str, np.ndarray], labels: np.ndarray, path: Path) -> None:
    """Accuracy against confidence per bin, one panel per set of answers; the diagonal is perfect."""
    plt = pyplot()
    figure, axes = plt.subplots(1, len(answers), figsize=(5 * len(answers), 4.6), sharey=True, squeeze=False)
    axes = axes[0]
    for axis, (title, probabilities) in zip(axes, answers.items(), strict=True):
        mean_confidence, accuracy, counts = confidence_bins(probabilities, labels)
        edges = np.linspace(0, 1, ECE_BINS + 1)
        axis.bar(edges[:-1], np.nan_to_num(accuracy), width=1 / ECE_BINS, align="edge", alpha=0.7, label="accuracy")
        axis.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
        axis.plot(mean_confidence, accuracy, "o", color="C3", label="bin: accuracy at its mean confidence")
        for left, count in zip(edges[:-1], counts, strict=True):
            if count:
                axis.text(left + 0.5 / ECE_BINS, 0.02, f"{count}", rotation=90, ha="center", fontsize=7)
        ece = expected_calibration_error(probabilities, labels)
        axis.set_title(f"{title}: ECE {ece:.2%}")
        axis.set_xlabel("confidence (numbers: test images in the bin)")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    axes[0].legend(loc="upper left")
    save_figure(figure, path)


def main() -> None:
    cli = measuring_cli(__doc__.splitlines()[0])
    args = cli.parse_args()

    stored, classifier = served_model(args.tag)
    calibration = stored.info.metadata.get(contract.META_CALIBRATION)
    images, labels = load_digits(args.data, None)
    served = classifier.probabilities(images.astype(np.float32)).astype(np.float64)
    if calibration is None:  # stored without a held-out split: its answers as trained
        answers = {"as served (no calibration)": served}
    else:
        temperature = calibration["temperature"]
        before = softmax(temperature * np.log(np.maximum(served, np.finfo(np.float32).tiny)))
        answers = {"before (as trained)": before, f"after (temperature {temperature:.3f})": served}
    results = Path(args.results)
    plot_reliability(answers, labels, results / "reliability.png")
    fitted_on = (
        f"temperature fitted on the last {calibration['held_out_images']:,} training images, which training held out; "
        if calibration
        else ""
    )
    lines = [
        f"Measured with {stored.tag} ({classifier.runtime}, {classifier.precision}); {fitted_on}"
        f"MNIST's 10,000 test images; {ECE_BINS} equal-width bins; {machine_description()}. "
        "`python -m loadtest.calibration_report`.",
        "",
        "| answers | expected calibration error | mean confidence | accuracy |",
        "| --- | ---: | ---: | ---: |",
        *[
            f"| {name} | {expected_calibration_error(probabilities, labels):.3%} | "
            f"{probabilities.max(axis=1).mean():.3%} | {(probabilities.argmax(axis=1) == labels).mean():.2%} |"
            for name, probabilities in answers.items()
        ],
        "",
        "![reliability diagram](reliability.png)",
    ]
    write_markdown(lines, results / "calibration.md")


if __name__ == "__main__":
    main()
