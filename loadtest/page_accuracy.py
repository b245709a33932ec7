"""Digits drawn on the draw-a-digit page in a real browser: how many it reads right, and how fast.

    python -m loadtest.page_accuracy [--per-class 20] [--url http://127.0.0.1:3000]

MNIST test digits are traced into pen strokes (`loadtest.drawn_digits`) and drawn on the page by
headless Chromium with pointer events, at random sizes (a quarter to most of the canvas) and
places. Without --url a server is started on the stored model. Prints the accuracy (overall and
by size), the time from the end of each stroke to the answer on screen as the page measured it
(median and p95), writes results/page_accuracy.md, and saves screenshots of the page after a
drawing on a desktop and on a phone-sized screen.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from loadtest.drawn_digits import drawing_cases
from loadtest.page_driver import DrawingPage
from loadtest.payloads import load_digits
from local_servers import bentoml_command, serving
from results_output import write_markdown
from service.settings import ServiceSettings

RESULTS = Path("results")
SMALL_BELOW = 0.45  # digits whose box spans less than this share of the canvas count as small
SCREENSHOT_DIGIT = 2  # which case is on screen in the screenshots


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--per-class", type=int, default=20, help="digits of each class to draw (20: 200 digits)")
    cli.add_argument("--seed", type=int, default=7)
    cli.add_argument("--url", help="a running service; default: start one on the stored model")
    cli.add_argument("--data", help="mnist.npz (default: $MNIST_DATA, else Keras's download)")
    args = cli.parse_args()

    images, labels = load_digits(args.data, count=None)
    cases = drawing_cases(images, labels, args.per_class, args.seed)
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(started_server())
        page = stack.enter_context(DrawingPage(url))
        started = time.perf_counter()
        shown = []
        for number, case in enumerate(cases, start=1):
            page.click("clear")
            page.draw(case.on_canvas(page.pad_side), kind=("mouse", "pen")[number % 2])
            shown.append(page.answer())
            if number % 20 == 0 or number == len(cases):
                right = sum(answer.digit == c.label for answer, c in zip(shown, cases, strict=False))
                elapsed = time.perf_counter() - started
                print(f"  {number}/{len(cases)} drawn, {right / number:.1%} right, {elapsed:.0f} s", flush=True)
        latencies = np.array(page.latencies_ms())
        screenshots(page, url, cases[SCREENSHOT_DIGIT])

    right = np.array([answer.digit == case.label for answer, case in zip(shown, cases, strict=True)])
    small = np.array([case.placement.size < SMALL_BELOW for case in cases])
    wrong = [
        f"{case.label} as {answer.digit if answer.digit is not None else answer.state} (test image {case.index})"
        for answer, case in zip(shown, cases, strict=True)
        if answer.digit != case.label
    ]
    write_markdown(
        [
            f"Digits drawn on the page in headless Chromium ({len(cases)} MNIST test digits traced into strokes, "
            f"{args.per_class} per class, seed {args.seed}; model {ServiceSettings().model_tag}).",
            "",
            "| drawn | digits | read right |",
            "| --- | ---: | ---: |",
            f"| all | {len(cases)} | {right.mean():.1%} |",
            f"| small (under {SMALL_BELOW:.0%} of the canvas across) | {small.sum()} | {right[small].mean():.1%} |",
            f"| large | {(~small).sum()} | {right[~small].mean():.1%} |",
            "",
            f"End of stroke to answer on screen, over {len(latencies)} strokes: median {np.median(latencies):.0f} ms, "
            f"p95 {np.percentile(latencies, 95):.0f} ms.",
            "",
            f"Misread: {'; '.join(wrong) or 'none'}.",
        ],
        RESULTS / "page_accuracy.md",
    )


@contextlib.contextmanager
def started_server():
    log = Path(tempfile.mkdtemp(prefix="page-accuracy-")) / "serve.log"
    print(f"starting the service on {ServiceSettings().model_tag} (log: {log})", file=sys.stderr)
    with serving(bentoml_command(), "/readyz", log=log) as (url, _):
        yield url


def screenshots(page: DrawingPage, url: str, case) -> None:
    page.click("clear")
    page.draw(case.on_canvas(page.pad_side))
    page.answer()
    page.screenshot(RESULTS / "page.png")
    with DrawingPage(url, phone=True) as phone:
        phone.draw(case.on_canvas(phone.pad_side), kind="touch")
        phone.answer()
        phone.screenshot(RESULTS / "page_phone.png")
    print(f"wrote {RESULTS / 'page.png'} and {RESULTS / 'page_phone.png'}")


if __name__ == "__main__":
    main()
