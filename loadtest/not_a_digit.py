"""Does the service flag what is not a digit, and only that? And how does it read digits that did
not come from MNIST?

    python -m loadtest.not_a_digit [--count 200] [--tag mnist_classifier:...]

Non-digits: every family of `training.non_digits`, drawn in fonts training never used (Debian's
urw-base35) and with a seed training never used, letters of other scripts that training never
drew, and blank-ish pages. Each is printed dark on a white page of random size, saved as PNG, and
prepared by `service.preprocess` and classified by the serving path, as /predict_image does. It
counts as flagged when the answer says "unsure" or the service refuses it as blank (422). MNIST's
test digits go in as arrays, as /predict gets them. Digits typeset in the same unseen fonts, on the
same pages, are the digits from outside MNIST. Writes results/not_a_digit.md.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

import model_contract as contract
from loadtest.measuring_cli import measuring_cli, served_model
from loadtest.payloads import load_digits
from loadtest.renderings import encoded
from results_output import machine_description, write_markdown
from service.invalid_input import InvalidInput
from service.preprocess import image_bytes_to_pixels
from service.settings import DEFAULT_MAX_IMAGE_PIXELS
from training.non_digits import MEASURING_FONT_PACKAGES, characters, drawn, fonts_from, measuring_families

SEED = 2026  # training draws with its run's seed and the next one; recipes use 42 and below
REFUSED = -1  # stands for the service's 422 "no digit found"


def on_page(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """A drawing in dark ink, 60-300 px tall, somewhere on a white page, as a PNG."""
    side = int(rng.integers(60, 300))
    drawing = Image.fromarray((ink * 255).astype(np.uint8)).resize((side, side), Image.Resampling.BICUBIC)
    page = np.full((side + int(rng.integers(20, 200)), side + int(rng.integers(20, 200))), 255.0)
    top, left = int(rng.integers(0, page.shape[0] - side + 1)), int(rng.integers(0, page.shape[1] - side + 1))
    page[top : top + side, left : left + side] -= np.asarray(drawing, np.float32) * rng.uniform(0.6, 1.0)
    return png(page)


def blank_page(rng: np.random.Generator) -> bytes:
    """A white page with paper grain and a few faint specks: what an empty scan or photo holds."""
    page = 245 + rng.normal(0, rng.uniform(1, 4), size=(int(rng.integers(80, 400)), int(rng.integers(80, 400))))
    for _ in range(int(rng.integers(0, 6))):
        y, x = int(rng.integers(page.shape[0] - 2)), int(rng.integers(page.shape[1] - 2))
        page[y : y + 2, x : x + 2] -= rng.uniform(10, 40)
    return png(page)


def png(grey: np.ndarray) -> bytes:
    return encoded(Image.fromarray(grey.clip(0, 255).astype(np.uint8)), "PNG")


def served_answers(
    files: list[bytes], probabilities: Callable[[np.ndarray], np.ndarray], unsure_below: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each file's digit (REFUSED where the service refuses it as blank) and whether it is flagged."""
    prepared, refused = [], []
    for data in files:
        try:
            prepared.append(image_bytes_to_pixels(data, DEFAULT_MAX_IMAGE_PIXELS))
            refused.append(False)
        except InvalidInput:
            refused.append(True)
    answers = probabilities(np.stack(prepared)) if prepared else np.zeros((0, contract.NUM_CLASSES))
    digits, flagged = np.full(len(files), REFUSED), np.ones(len(files), dtype=bool)
    kept = ~np.array(refused)
    digits[kept] = answers.argmax(axis=1)
    flagged[kept] = answers.max(axis=1) < unsure_below
    return digits, flagged


def main() -> None:
    cli = measuring_cli(__doc__.splitlines()[0])
    cli.add_argument("--count", type=int, default=200, help="images per family (200)")
    args = cli.parse_args()

    stored, classifier = served_model(args.tag)
    threshold = contract.unsure_below(stored.info.metadata)
    fonts = fonts_from(MEASURING_FONT_PACKAGES)
    rng = np.random.default_rng(SEED)

    rows = []
    families = measuring_families(fonts)
    for name, draw in families.items():
        drawings, _ = drawn({name: draw}, args.count, SEED + len(rows))
        digits, flagged = served_answers([on_page(ink, rng) for ink in drawings], classifier.probabilities, threshold)
        rows.append((name, len(drawings), flagged.mean(), (digits == REFUSED).mean()))
        print(f"{name:>14}: {flagged.mean():6.1%} flagged ({(digits == REFUSED).mean():.1%} refused as blank)")
    digits, flagged = served_answers([blank_page(rng) for _ in range(args.count)], classifier.probabilities, threshold)
    rows.append(("blank-ish pages", args.count, flagged.mean(), (digits == REFUSED).mean()))
    every_non_digit = np.average([row[2] for row in rows], weights=[row[1] for row in rows])

    images, labels = load_digits(args.data, None)
    confidences = classifier.probabilities(images.astype(np.float32))
    mnist_flagged = float((confidences.max(axis=1) < threshold).mean())
    mnist_accuracy = float((confidences.argmax(axis=1) == labels).mean())

    typeset_labels = np.arange(args.count * 2) % contract.NUM_CLASSES
    typeset = [on_page(characters(str(digit), fonts)(rng), rng) for digit in typeset_labels]
    typeset_digits, typeset_flagged = served_answers(typeset, classifier.probabilities, threshold)
    typeset_accuracy = float((typeset_digits == typeset_labels).mean())
    typeset_answered = float((typeset_digits[~typeset_flagged] == typeset_labels[~typeset_flagged]).mean())

    lines = [
        f"Measured with {stored.tag} ({classifier.runtime}, {classifier.precision}); 'unsure' below "
        f"{threshold:.4f}; {len(fonts)} fonts of {', '.join(MEASURING_FONT_PACKAGES)} (none used in training); "
        f"{args.count} images per family, seed {SEED}; {machine_description()}. `python -m loadtest.not_a_digit`.",
        "",
        "| input | images | flagged (unsure or refused) | refused as blank (422) |",
        "| --- | ---: | ---: | ---: |",
        *[f"| {name} | {count:,} | {share:.1%} | {refused:.1%} |" for name, count, share, refused in rows],
        f"| **all non-digits** | {sum(row[1] for row in rows):,} | **{every_non_digit:.1%}** | |",
        f"| **MNIST test digits** (arrays) | {len(labels):,} | **{mnist_flagged:.2%}** | |",
        "",
        "Digits from outside MNIST: typeset in the same unseen fonts, on the same pages.",
        "",
        "| input | images | accuracy | flagged | accuracy of the answers not flagged |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| MNIST test digits | {len(labels):,} | {mnist_accuracy:.2%} | {mnist_flagged:.2%} | |",
        f"| typeset digits, {len(fonts)} fonts | {len(typeset):,} | {typeset_accuracy:.1%} "
        f"| {typeset_flagged.mean():.1%} | {typeset_answered:.1%} |",
    ]
    write_markdown(lines, Path(args.results) / "not_a_digit.md")


if __name__ == "__main__":
    main()
