"""How well do image files come through preprocessing? MNIST test digits rendered as users send them.

    python -m loadtest.image_accuracy [--count 2000]

Each test digit is drawn the way a user's file would hold it (`loadtest.renderings`), then decoded
and prepared by `service.preprocess` and classified by the serving path. Prints the accuracy of
each rendering beside the accuracy on the original arrays, and writes results/image_accuracy.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from loadtest.measuring_cli import measuring_cli, served_model
from loadtest.payloads import load_digits
from loadtest.renderings import RENDERINGS
from results_output import write_markdown
from service.preprocess import image_bytes_to_pixels
from service.settings import DEFAULT_MAX_IMAGE_PIXELS

MAX_PIXELS = DEFAULT_MAX_IMAGE_PIXELS


def main() -> None:
    cli = measuring_cli(__doc__.splitlines()[0])
    cli.add_argument("--count", type=int, default=2000, help="test digits per rendering (2000)")
    args = cli.parse_args()

    stored, classifier = served_model(args.tag)
    images, labels = load_digits(args.data, args.count)
    rng = np.random.default_rng(0)
    direct = float((classifier.probabilities(images.astype(np.float32)).argmax(1) == labels).mean())
    rows = [("original arrays", direct, 0.0)]
    for name, render in RENDERINGS.items():
        started = time.perf_counter()
        prepared = np.stack([image_bytes_to_pixels(render(pixels, rng), MAX_PIXELS) for pixels in images])
        per_image_ms = (time.perf_counter() - started) * 1000 / len(images)
        accuracy = float((classifier.probabilities(prepared).argmax(1) == labels).mean())
        rows.append((name, accuracy, per_image_ms))
        print(f"{name}: {accuracy:.2%}", flush=True)
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')}; model {stored.tag}; first {len(images):,} MNIST test digits; "
        "`python -m loadtest.image_accuracy`.",
        "",
        "| input | accuracy | render + decode + prepare, ms per image |",
        "| --- | ---: | ---: |",
        *(f"| {name} | {accuracy:.2%} | {ms:.2f} |" for name, accuracy, ms in rows),
    ]
    write_markdown(lines, Path(args.results) / "image_accuracy.md")


if __name__ == "__main__":
    main()
