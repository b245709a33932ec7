"""Fault scenario: as many maximal requests of each kind at once as a worker admits.

Maximal means at every limit together: 256 images of long floats per JSON body, 256 float64
images per .npy, 64 image files per upload request with 80 million pixels between them. The
worker's memory must stay under the documented ceiling and health checks must stay fast while
they are parsed, decoded and answered.
"""

from __future__ import annotations

import asyncio
import io
import json

import numpy as np
from PIL import Image, ImageDraw

from loadtest.fault_inputs import multipart
from loadtest.fault_kit import (
    MEMORY_CEILING_MB,
    PeakMemory,
    Report,
    fresh_server,
    health_probes,
    percentile,
    statuses,
    worker_of,
)
from loadtest.raw_http import ANSWERED, Connection, encode_request
from local_servers import LOOPBACK
from model_contract import INPUT_SHAPE

AT_ONCE = 32  # the service's default concurrency limit per worker
MAX_IMAGES = 256
MAX_FILES = 64
FILE_SIDE = 1100  # 64 files of 1100x1100: 77 million pixels, under the 80 million per request
# The longest ways to write valid pixel values: ink, and the dark edge every image must have
# (one light at its edges is refused as drawn the wrong way round, before the model sees it).
LONG_INK, LONG_BACKGROUND = 254.99999999999997, 0.30000000000000004
HEALTH_P99_MS = 100
# The longest probe: 32 large JSON bodies or uploads worked on in the event loop held it 150-680 ms
# (service.off_loop)
HEALTH_MAX_MS = 250


def longest_images() -> np.ndarray:
    """MAX_IMAGES float64 images that take the most bytes as JSON and pass every check."""
    images = np.full((MAX_IMAGES, *INPUT_SHAPE), LONG_INK)
    images[:, [0, -1], :] = LONG_BACKGROUND
    images[:, :, [0, -1]] = LONG_BACKGROUND
    return images


def maximal_requests() -> dict[str, bytes]:
    images = longest_images()
    json_body = json.dumps({"images": images.reshape(MAX_IMAGES, -1).tolist()}).encode()
    npy = io.BytesIO()
    np.save(npy, images)
    npy_form, npy_type = multipart("array", [npy.getvalue()])
    page = Image.new("L", (FILE_SIDE, FILE_SIDE), 255)
    ImageDraw.Draw(page).line([(400, 300), (700, 300), (500, 800)], fill=0, width=60)  # a "7"
    png = io.BytesIO()
    page.save(png, format="PNG")
    files_form, files_type = multipart("images", [png.getvalue()] * MAX_FILES)
    return {
        f"/predict, {MAX_IMAGES} images as JSON ({len(json_body) / 2**20:.1f} MiB)": encode_request(
            "POST", "/predict", json_body
        ),
        f"/predict_npy, {MAX_IMAGES} float64 images ({len(npy_form) / 2**20:.1f} MiB)": encode_request(
            "POST", "/predict_npy", npy_form, npy_type
        ),
        f"/predict_images, {MAX_FILES} files of {FILE_SIDE}x{FILE_SIDE}": encode_request(
            "POST", "/predict_images", files_form, files_type
        ),
    }


async def maximal_requests_at_once(tag: str, report: Report) -> None:
    rows = [("requests at once", "answers", "worker RSS before -> peak", "health p99 / longest")]
    with fresh_server(tag) as (port, pid):
        worker = worker_of(pid)
        for what, request in maximal_requests().items():
            before = worker.memory_info().rss / 2**20
            with PeakMemory(worker) as memory, health_probes(port, seconds=5) as health:
                answers = await asyncio.gather(*(Connection(LOOPBACK, port).ask(request) for _ in range(AT_ONCE)))
            p99, longest = percentile(health, 99), max(health, default=float("nan"))
            rows.append(
                (
                    f"{AT_ONCE} x {what}",
                    statuses(answers),
                    f"{before:.0f} -> {memory.peak_mb:.0f} MB",
                    f"{p99:.1f} / {longest:.1f} ms",
                )
            )
            report.check(
                "maximal",
                f"{AT_ONCE} x {what}: answered, worker under {MEMORY_CEILING_MB} MB, "
                f"health p99 within {HEALTH_P99_MS} ms, every probe within {HEALTH_MAX_MS} ms",
                f"{statuses(answers)}; peak {memory.peak_mb:.0f} MB; p99 {p99:.1f} ms, longest {longest:.1f} ms",
                all(o.kind == ANSWERED and o.status in (200, 429) for o in answers)
                and memory.peak_mb <= MEMORY_CEILING_MB
                and p99 <= HEALTH_P99_MS
                and longest <= HEALTH_MAX_MS,
            )
    report.table("Maximal requests of each kind at once", rows)
