"""Fault scenario: floods of the largest images a client may send, one file kind at a time.

Each kind gets a fresh server: 48 concurrent uploads of a white image of 40 million pixels (just
under the per-image limit; a blank page, so 422), then 64 of them in one `/predict_images` call,
which the request's pixel budget refuses from the headers. The kinds are those that cost the most
to decode for the bytes sent: an RGBA PNG (169 KB) and a HEIC file (24 KB, 0.9 s of one core to
decode here: HEVC has no reduced-scale decoding, unlike JPEG).
"""

from __future__ import annotations

import asyncio
import io
import time

import pillow_heif
from PIL import Image

from loadtest.fault_inputs import multipart, png_bytes
from loadtest.fault_kit import MEMORY_CEILING_MB, PeakMemory, Report, fresh_server, statuses, worker_of
from loadtest.raw_http import ANSWERED, Connection, encode_request
from local_servers import LOOPBACK

FLOOD_SIDE = 6324  # 40 million pixels, just under the per-image limit
FLOOD_UPLOADS = 48


def flood_files() -> dict[str, bytes]:
    """The white page as each kind of file: the PNG with an alpha channel (the most bytes decoded
    per pixel), the HEIC written by pillow-heif (the service reads it with pi-heif)."""
    white = Image.new("RGBA", (FLOOD_SIDE, FLOOD_SIDE), (255, 255, 255, 255))
    heic = io.BytesIO()
    pillow_heif.from_pillow(white.convert("RGB")).save(heic, quality=50)
    return {"RGBA PNG": png_bytes(white), "HEIC": heic.getvalue()}


async def image_flood(tag: str, report: Report) -> None:
    rows = [("request", "answers", "seconds", "worker RSS")]
    for kind, big in flood_files().items():
        rows += await _flood(tag, report, kind, big)
    report.table("Image floods", rows)


async def _flood(tag: str, report: Report, kind: str, big: bytes) -> list[tuple[str, str, str, str]]:
    one_file, one_type = multipart("image", [big])
    many_files, many_type = multipart("images", [big] * 64)
    with fresh_server(tag) as (port, pid):
        worker = worker_of(pid)
        before = worker.memory_info().rss / 2**20
        with PeakMemory(worker) as memory:
            started = time.perf_counter()
            uploads = await asyncio.gather(
                *(
                    Connection(LOOPBACK, port).ask(encode_request("POST", "/predict_image", one_file, one_type))
                    for _ in range(FLOOD_UPLOADS)
                )
            )
            flood_seconds = time.perf_counter() - started
            sixty_four = await Connection(LOOPBACK, port).ask(
                encode_request("POST", "/predict_images", many_files, many_type)
            )
        after = worker.memory_info().rss / 2**20
    report.check(
        "images",
        f"worker under {MEMORY_CEILING_MB} MB during the {kind} flood",
        f"peak {memory.peak_mb:.0f} MB",
        memory.peak_mb <= MEMORY_CEILING_MB,
    )
    report.check(
        "images",
        f"every {kind} upload answered: 422 (a blank page) or 429 (past the concurrency limit)",
        statuses(uploads),
        all(o.kind == ANSWERED and o.status < 500 for o in uploads),
    )
    report.check(
        "images",
        f"64 huge {kind} files in one request refused at once (413)",
        f"{sixty_four.status} in {sixty_four.seconds:.2f} s",
        sixty_four.status == 413 and sixty_four.seconds < 5,
    )
    return [
        (
            f"{FLOOD_UPLOADS} concurrent {FLOOD_SIDE}x{FLOOD_SIDE} {kind}s ({len(big) // 1024} KB each)",
            statuses(uploads),
            f"{flood_seconds:.1f}",
            f"{before:.0f} -> peak {memory.peak_mb:.0f} -> {after:.0f} MB",
        ),
        (f"64 {kind}s in one /predict_images", statuses([sixty_four]), f"{sixty_four.seconds:.2f}", ""),
    ]
