"""Low-concurrency latency: one client, one image per request, ours beside BentoML's no-op endpoint.

    python -m loadtest.latency [--seconds 10]

Locust reports whole milliseconds, too coarse where both answers take one or two; this sends the
same pre-encoded /predict request on one keep-alive connection (`loadtest.raw_http`) and times
each answer to the microsecond. Also times ours with adaptive batching off, which shows what the
batching queue costs a lone request. All servers run at once and are measured in turns, a few
seconds each, so that the machine's drift (these machines are noisy) falls on all of them alike.
Writes results/latency.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from loadtest.benchmark import OURS_SERVER, TARGETS
from loadtest.payloads import build_payloads, load_digits
from loadtest.raw_http import ANSWERED, closed_loop, encode_request
from local_servers import serving
from results_output import machine_description, write_markdown

SERVERS = {
    "no-op BentoML endpoint": TARGETS["no-op BentoML endpoint"].server,
    "ours, adaptive batching": OURS_SERVER,
    "ours, batching off": TARGETS["ours, batching off"].server,
}


TURN_S = 2.0


async def one_client(url: str, request: bytes, seconds: float) -> list[float]:
    """Milliseconds of each answered request, one client, for `seconds`."""
    address = urlsplit(url)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    outcomes = await closed_loop(address.hostname, address.port, request, 1, stop)
    return [outcome.seconds * 1000 for outcome in outcomes if outcome.kind == ANSWERED and outcome.status == 200]


def in_turns(urls: dict[str, str], request: bytes, seconds: float) -> dict[str, list[float]]:
    """Each server a turn of TURN_S at a time until each had `seconds`; a first turn each to warm up."""
    times: dict[str, list[float]] = {name: [] for name in urls}
    for url in urls.values():
        asyncio.run(one_client(url, request, 1.0))
    for _ in range(max(1, round(seconds / TURN_S))):
        for name, url in urls.items():
            times[name] += asyncio.run(one_client(url, request, TURN_S))
    return times


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--seconds", type=float, default=20, help="per server (20)")
    cli.add_argument("--results", default="results", help="output folder (results)")
    args = cli.parse_args()
    Path(args.results).mkdir(parents=True, exist_ok=True)
    body = build_payloads(*load_digits(count=8), batch_sizes=(1,)).single_json[0]
    request = encode_request("POST", "/predict", body)
    with contextlib.ExitStack() as servers:
        urls = {
            name: servers.enter_context(serving(*server, log=Path(args.results) / f"server-{index}.log"))[0]
            for index, (name, server) in enumerate(SERVERS.items())
        }
        times = in_turns(urls, request, args.seconds)
    rows = {
        name: (len(t), statistics.median(t), float(np.percentile(t, 90)), float(np.percentile(t, 99)))
        for name, t in times.items()
    }
    noop = rows["no-op BentoML endpoint"][1]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {machine_description()}; one client, one keep-alive connection, "
        f"one 28x28 image per /predict request as JSON, {args.seconds:.0f} s per server in turns of {TURN_S:.0f} s, "
        "after 1 s of warm-up.",
        "",
        "| server | answers | p50 ms | p90 ms | p99 ms | p50 vs the no-op endpoint |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {name} | {count:,} | {p50:.2f} | {p90:.2f} | {p99:.2f} | {p50 / noop:.2f}x |"
        for name, (count, p50, p90, p99) in rows.items()
    ]
    write_markdown(lines, Path(args.results) / "latency.md")


if __name__ == "__main__":
    main()
