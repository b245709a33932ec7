"""How well does the model read digits that are not MNIST's? Digits in handwriting fonts (each one
person's hand, none in training) and typefaces, with other pens, blur and low resolution.

    python -m loadtest.other_writers [--count 300] [--tag mnist_classifier:...]

Every digit is drawn on a canvas, printed dark on a white page, saved as a file, and prepared by
`service.preprocess` and classified by the serving path, as /predict_image does. MNIST's own test
digits, through the same pages, are the line to compare with. Writes results/other_writers.md.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

import model_contract as contract
from loadtest.measuring_cli import measuring_cli, served_model
from loadtest.not_a_digit import on_page, served_answers
from loadtest.payloads import load_digits
from loadtest.renderings import encoded
from results_output import machine_description, write_markdown
from training.non_digits import CANVAS, MEASURING_FONT_PACKAGES, characters, fonts_from

# Debian's handwriting fonts, one writer each: font folder -> the package that installs it; none is
# used in training. Training choices (`training.sweep --save`, then `--writers choosing`) may look
# at the first group; the second is only for reporting. Left out: fonts-femkeklaver (hollow
# outlines) and fonts-seto (draws no Latin digits).
HANDWRITING_FONTS = {
    "choosing": {
        "fifthhorseman": "fonts-dkg-handwriting",
        "breip": "fonts-breip",
        "rufscript": "fonts-rufscript",
        "humor-sans": "fonts-humor-sans",
    },
    "reporting": {
        "sjfonts": "fonts-sjfonts",
        "comic-neue": "fonts-comic-neue",
        "klee": "fonts-klee",
        "kiloji": "fonts-kiloji",
        "yozvox-yozfont": "fonts-yozvox-yozfont",
    },
}
SEED = 7
LOW_RESOLUTION_HEIGHTS = (12, 20)  # pixels


def thicker(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A broader pen: the strokes grown by 2-4 canvas pixels on each side."""
    size = 2 * int(rng.integers(2, 5)) + 1
    return np.asarray(Image.fromarray(ink).filter(ImageFilter.MaxFilter(size)))


def thinner(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A fine pen: the strokes worn down by one canvas pixel on each side (never to nothing)."""
    worn = np.asarray(Image.fromarray(ink).filter(ImageFilter.MinFilter(3)))
    return worn if worn.max() > 0.5 else ink


def blurred_page(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """Out of focus: the printed page blurred by a radius of 2-4% of the digit's size."""
    page = Image.open(io.BytesIO(on_page(ink, rng)))
    radius = float(rng.uniform(0.02, 0.04)) * CANVAS
    return encoded(page.filter(ImageFilter.GaussianBlur(radius)), "PNG")


def low_resolution_page(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """A small scan or a far photo: the digit 12-20 pixels tall (MNIST's are 20) on a white page, JPEG."""
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.1), np.flatnonzero(ink.max(axis=0) > 0.1)
    digit = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = float(rng.uniform(*LOW_RESOLUTION_HEIGHTS)) / digit.shape[0]
    size = (max(1, round(digit.shape[1] * scale)), max(1, round(digit.shape[0] * scale)))
    small = np.asarray(Image.fromarray(digit * 255, mode="F").resize(size, Image.Resampling.BOX))
    margin = int(rng.integers(4, 20))
    page = np.full((size[1] + 2 * margin, size[0] + 2 * margin), 255.0)
    page[margin : margin + size[1], margin : margin + size[0]] -= small * float(rng.uniform(0.6, 1.0))
    return encoded(Image.fromarray(page.clip(0, 255).astype(np.uint8)), "JPEG", quality=85)


CONDITIONS: dict[str, Callable[[np.ndarray, np.random.Generator], bytes]] = {
    "as written, PNG": on_page,
    "broad pen": lambda ink, rng: on_page(thicker(ink, rng), rng),
    "fine pen": lambda ink, rng: on_page(thinner(ink, rng), rng),
    "blurred": blurred_page,
    "low resolution (12-20 px tall), JPEG": low_resolution_page,
}


def digits_in(fonts: list[Path]) -> Callable[[int, np.random.Generator], np.ndarray]:
    """Draws a digit in one of these fonts, picked at random: one writer's hand, or the typefaces."""
    return lambda digit, rng: characters(str(digit), fonts)(rng)


def accuracy_on(
    draw: Callable[[int, np.random.Generator], np.ndarray],
    items: np.ndarray,
    labels: np.ndarray,
    answer: Callable[[list[bytes]], tuple[np.ndarray, np.ndarray]],
    rng: np.random.Generator,
) -> dict[str, float]:
    """Accuracy under each condition on the digits `draw(item, rng)` draws, whose digits are `labels`."""
    scores = {}
    for name, render in CONDITIONS.items():
        digits, _ = answer([render(draw(int(item), rng), rng) for item in items])
        scores[name] = float((digits == labels).mean())
    return scores


def main() -> None:
    cli = measuring_cli(__doc__.splitlines()[0])
    cli.add_argument("--count", type=int, default=300, help="digits per writer or set and condition (300)")
    cli.add_argument(
        "--writers",
        choices=[*HANDWRITING_FONTS, "all"],
        default="reporting",
        help="which handwriting fonts (reporting)",
    )
    args = cli.parse_args()

    stored, classifier = served_model(args.tag)
    threshold = contract.unsure_below(stored.info.metadata)

    def answer(files: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        return served_answers(files, classifier.probabilities, threshold)

    rng = np.random.default_rng(SEED)
    labels = np.arange(args.count) % contract.NUM_CLASSES
    mnist_images, mnist_labels = load_digits(args.data, args.count)

    def mnist_digit(index: int, rng: np.random.Generator) -> np.ndarray:
        enlarged = Image.fromarray(mnist_images[index].astype(np.float32) / contract.PIXEL_MAX, mode="F")
        return np.clip(np.asarray(enlarged.resize((CANVAS, CANVAS), Image.Resampling.BICUBIC)), 0, 1)

    groups = HANDWRITING_FONTS.values() if args.writers == "all" else [HANDWRITING_FONTS[args.writers]]
    packages = {folder: package for group in groups for folder, package in group.items()}
    writers = {folder: fonts_from([folder]) for folder in packages}
    missing = [packages[folder] for folder, fonts in writers.items() if not fonts]
    if missing:  # a table with writers left out would not compare with the README's
        raise SystemExit(f"handwriting fonts not installed: apt-get install {' '.join(missing)}")
    typefaces = fonts_from(MEASURING_FONT_PACKAGES)
    mnist = accuracy_on(mnist_digit, np.arange(len(mnist_labels)), mnist_labels, answer, rng)
    rows = [("MNIST test digits, enlarged (for comparison)", "-", mnist)]
    for name, fonts in writers.items():
        rows.append((f"handwriting: {name}", len(fonts), accuracy_on(digits_in(fonts), labels, labels, answer, rng)))
        print(f"{name:>16}: " + ", ".join(f"{score:.1%}" for score in rows[-1][2].values()))
    handwriting = [row[2] for row in rows[1:]]
    rows.append(
        ("**all handwriting fonts** (mean of writers)", sum(row[1] for row in rows[1:]), mean_scores(handwriting))
    )
    typeset = accuracy_on(digits_in(typefaces), labels, labels, answer, rng)
    rows.append((f"typefaces ({', '.join(MEASURING_FONT_PACKAGES)})", len(typefaces), typeset))

    lines = [
        f"Measured with {stored.tag} ({classifier.runtime}, {classifier.precision}); {args.count} digits per row "
        f"and condition, seed {SEED}; {machine_description()}. `python -m loadtest.other_writers --writers "
        f"{args.writers}`. Accuracy of the digit answered (flagged answers count as they are).",
        "",
        "| digits | fonts | " + " | ".join(CONDITIONS) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in CONDITIONS) + " |",
        *[
            f"| {name} | {fonts} | " + " | ".join(f"{scores[condition]:.1%}" for condition in CONDITIONS) + " |"
            for name, fonts, scores in rows
        ],
    ]
    write_markdown(lines, Path(args.results) / f"other_writers_{args.writers}.md")


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    return {condition: float(np.mean([row[condition] for row in rows])) for condition in CONDITIONS}


if __name__ == "__main__":
    main()
