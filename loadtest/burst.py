"""Bursts against a fresh server: how much latency budget adaptive batching needs to answer all.

    python -m loadtest.burst --requests 1000 --budgets 1000 5000 30000

BentoML's dispatcher refuses a queued request with 503 when its estimate of the time to serve the
queue passes `max_latency_ms`. The estimate is a straight line, batch duration = a * requests + b,
fitted on recent batches. A server that has only ever seen one request per batch (just started,
or quiet for a while) cannot tell a from b and charges half of a call's fixed cost to every
queued request: a burst then looks tens of times more expensive than it is. This script starts
the service once per budget, sends 20 single requests (the quiet history), then one burst of
simultaneous requests ("cold": the estimator has only seen single requests) and a second one
("warm": it has seen real batches). It writes results/burst.md.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

from local_servers import bentoml_command, serving
from results_output import write_markdown

QUIET_REQUESTS = 20


async def burst(url: str, requests: int, image: list) -> tuple[Counter, float]:
    """Send `requests` one-image requests at once; count the answers by status."""
    limits = httpx.Limits(max_connections=requests)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def ask() -> str:
            try:
                return str((await client.post(f"{url}/predict", json={"images": [image]})).status_code)
            except httpx.HTTPError as error:
                return type(error).__name__

        started = time.perf_counter()
        answers = await asyncio.gather(*(ask() for _ in range(requests)))
        return Counter(answers), time.perf_counter() - started


def measure(budget_ms: int, requests: int, image: list) -> list[str]:
    """Table rows for one latency budget: the cold burst, then the warm one."""
    rows = []
    with serving(bentoml_command(), "/readyz", env={"MNIST_MAX_LATENCY_MS": str(budget_ms)}) as (url, _):
        for _ in range(QUIET_REQUESTS):
            httpx.post(f"{url}/predict", json={"images": [image]}, timeout=60).raise_for_status()
        for history in ("cold", "warm"):
            answers, seconds = asyncio.run(burst(url, requests, image))
            others = sum(count for status, count in answers.items() if status not in ("200", "503"))
            rows.append(
                f"| {budget_ms:,} | {history} | {requests} | {answers['200']} | {answers['503']} | {others} "
                f"| {seconds:.1f} |"
            )
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--requests", type=int, default=1000, help="simultaneous requests per burst (1000)")
    cli.add_argument("--budgets", type=int, nargs="+", default=[1000, 5000, 30000], help="max_latency_ms values")
    cli.add_argument("--results", default="results", help="output folder (results)")
    args = cli.parse_args()
    image = np.random.default_rng(0).integers(0, 256, (28, 28)).tolist()
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')}; one image per request; {QUIET_REQUESTS} single requests "
        "before the first burst.",
        "",
        "| max_latency_ms | estimator | requests | 200 | 503 | other | seconds |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    print("\n".join(lines), flush=True)
    for budget_ms in args.budgets:
        lines += measure(budget_ms, args.requests, image)
    write_markdown(lines, Path(args.results) / "burst.md")


if __name__ == "__main__":
    main()
