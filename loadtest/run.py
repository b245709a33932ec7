"""Headless load test: start the service (or take --url), run a scenario, judge it.

    python -m loadtest.run mixed --users 32 --seconds 60
    python -m loadtest.run soak --users 32 --seconds 600 --rate 400

Writes locust's CSV and HTML reports (and, for every run, the server's memory over time) under
--results, prints a summary, and exits non-zero on any failed request or a p95 above --max-p95-ms.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
import threading
import time
from pathlib import Path

import psutil

from loadtest.locust_runner import run_locust
from loadtest.servers import bentoml_command, serving

SCENARIOS = {
    "single": "SingleArrayUser",
    "batch": "SmallBatchUser",
    "png": "PngUser",
    "npy": "NpyBatchUser",
    "mixed": "MixedUser",
    "soak": "SingleArrayUser",
}
RSS_SAMPLE_S = 5


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its children (BentoML runs workers as children)."""
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total / 2**20


class MemoryRecorder(threading.Thread):
    """Samples the server's RSS every few seconds while the load runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stopped = pid, [], threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.stopped.wait(RSS_SAMPLE_S):
            self.samples.append((time.monotonic() - self.started_at, tree_rss_mb(self.pid)))

    def at(self, seconds: float) -> float:
        return min(self.samples, key=lambda sample: abs(sample[0] - seconds))[1]


def plot_rss(csv_path: Path, png_path: Path) -> None:
    """The server's memory over the run, from the samples CSV: a leak shows as a slope."""
    import matplotlib.pyplot as plt  # noqa: I001

    from training.report import save_figure  # imported first: it selects the file-only backend

    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    figure, axis = plt.subplots(figsize=(7, 3.5))
    axis.plot([float(r["seconds"]) / 60 for r in rows], [float(r["rss_mb"]) for r in rows])
    axis.set(xlabel="minutes", ylabel="server RSS (MB)", title="server memory under load")
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    save_figure(figure, png_path)


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("scenario", choices=list(SCENARIOS), help="traffic mix")
    cli.add_argument("--users", type=int, default=32, help="concurrent users (32)")
    cli.add_argument("--seconds", type=int, default=60, help="duration (60; soak: 600)")
    cli.add_argument(
        "--max-requests", type=int, default=0, help="also stop after this many requests (0: 5,000/s x seconds)"
    )
    cli.add_argument("--rate", type=float, default=0, help="total requests/s to aim at (0: closed loop)")
    cli.add_argument("--url", help="test this server instead of starting one (loopback only)")
    cli.add_argument("--max-p95-ms", type=float, default=1000, help="fail above this p95 latency (1000)")
    cli.add_argument("--max-wrong-rate", type=float, default=0.05, help="wrong digits that count as failures (0.05)")
    cli.add_argument("--data", help="mnist.npz for the payloads ($MNIST_DATA, else download)")
    cli.add_argument("--results", default="results/loadtest", help="report folder (results/loadtest)")
    args = cli.parse_args()
    if args.url and not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        cli.error("--url must be on 127.0.0.1: load tests never leave this machine")

    folder = Path(args.results)
    folder.mkdir(parents=True, exist_ok=True)
    max_requests = args.max_requests or 5000 * args.seconds
    extra = ["--max-p95-ms", str(args.max_p95_ms), "--max-wrong-rate", str(args.max_wrong_rate)]
    extra += ["--max-requests", str(max_requests)]
    if args.rate:
        extra += ["--user-rate", str(args.rate / args.users)]
    if args.data:
        extra += ["--mnist-data", args.data]

    server = (
        contextlib.nullcontext((args.url, None))
        if args.url
        else serving(bentoml_command(), "/readyz", log=folder / f"{args.scenario}-server.log")
    )
    with server as (url, pid):
        recorder = MemoryRecorder(pid) if pid else None
        if recorder:
            recorder.start()
        print(f"{args.scenario}: {args.users} users for {args.seconds} s against {url}")
        result = run_locust(
            url, SCENARIOS[args.scenario], args.users, args.seconds, folder / args.scenario, extra, html=True
        )
        if recorder:
            recorder.stopped.set()

    print(
        f"\n{result.requests} requests, {result.failures} failures, {result.requests_per_s:.0f} req/s, "
        f"p50 {result.p50_ms:.0f} ms, p95 {result.p95_ms:.0f} ms, p99 {result.p99_ms:.0f} ms; "
        f"locust used {result.generator_cpu:.2f} cores"
    )
    if recorder and recorder.samples:
        with open(folder / f"{args.scenario}_rss.csv", "w", newline="") as handle:
            csv.writer(handle).writerows([("seconds", "rss_mb"), *recorder.samples])
        plot_rss(folder / f"{args.scenario}_rss.csv", folder / f"{args.scenario}_rss.png")
        first_minute = recorder.at(60)
        end = recorder.samples[-1][1]
        print(
            f"server RSS: {first_minute:.0f} MB at minute 1, {end:.0f} MB at the end ({(end / first_minute - 1):+.1%})"
        )
    print(f"reports: {folder}/{args.scenario}_stats.csv, {folder}/{args.scenario}.html")
    return 0 if result.exit_code == 0 and result.failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
