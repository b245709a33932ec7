"""Headless load test: start the service (or take --url), run a scenario, judge it.

    python -m loadtest.run mixed --users 32 --seconds 60
    python -m loadtest.run soak --users 32 --seconds 1800 --rate 400

Writes locust's CSV and HTML reports, and, for every run, the server's memory and open file
descriptors over time (CSV and PNG) under --results; prints a summary; exits non-zero on any
failed request, a p95 above --max-p95-ms, worker memory growing 5 MB or more per 10 minutes after
the first minute, or more open descriptors at the end than after the first minute.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from loadtest.locust_runner import run_locust
from local_servers import bentoml_command, is_bentoml_worker, serving

SCENARIOS = {
    "single": "SingleArrayUser",
    "batch": "SmallBatchUser",
    "png": "PngUser",
    "npy": "NpyBatchUser",
    "mixed": "MixedUser",
    "soak": "SingleArrayUser",
}
RSS_SAMPLE_S = 5
SETTLING_S = 60  # memory and descriptors are judged from the end of the first minute
MAX_GROWTH_MB_PER_10_MIN = 5.0  # soak rule: the worker's memory, as a straight-line fit


def tree_usage(pid: int) -> tuple[float, float, int]:
    """(server tree RSS MB, worker RSS MB, open file descriptors of the tree) for BentoML's processes."""
    root = psutil.Process(pid)
    tree_mb = worker_mb = 0.0
    descriptors = 0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            rss = process.memory_info().rss / 2**20
            tree_mb += rss
            descriptors += process.num_fds()
            if is_bentoml_worker(process):
                worker_mb += rss
    return tree_mb, worker_mb, descriptors


class UsageRecorder(threading.Thread):
    """Samples the server's memory and open descriptors every few seconds while the load runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.stopped = pid, [], threading.Event()
        self.started_at = time.monotonic()

    def run(self) -> None:
        while not self.stopped.wait(RSS_SAMPLE_S):
            self.samples.append((round(time.monotonic() - self.started_at, 1), *tree_usage(self.pid)))

    def settled(self) -> list[tuple]:
        return [sample for sample in self.samples if sample[0] >= SETTLING_S] or self.samples

    def worker_growth_mb_per_10_min(self) -> float:
        seconds, _, worker_mb, _ = zip(*self.settled(), strict=True)
        return float(np.polyfit(seconds, worker_mb, 1)[0]) * 600 if len(seconds) > 1 else 0.0


def plot_usage(csv_path: Path, png_path: Path) -> None:
    """The worker's memory and the open descriptors over the run: a leak shows as a slope."""
    from results_output import pyplot, save_figure

    plt = pyplot()

    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    minutes = [float(r["seconds"]) / 60 for r in rows]
    figure, (memory, descriptors) = plt.subplots(1, 2, figsize=(10, 3.5))
    memory.plot(minutes, [float(r["worker_rss_mb"]) for r in rows])
    memory.set(xlabel="minutes", ylabel="worker RSS (MB)", title="worker memory under load")
    memory.set_ylim(bottom=0)
    descriptors.plot(minutes, [int(r["open_fds"]) for r in rows], color="tab:orange")
    descriptors.set(xlabel="minutes", ylabel="open file descriptors", title="server's open descriptors")
    descriptors.set_ylim(bottom=0)
    for axis in (memory, descriptors):
        axis.grid(alpha=0.3)
    save_figure(figure, png_path)


def report_usage(recorder: UsageRecorder, folder: Path, scenario: str) -> bool:
    """Write the samples and their plot; print and judge growth after the first minute."""
    csv_path = folder / f"{scenario}_usage.csv"
    with open(csv_path, "w", newline="") as handle:
        csv.writer(handle).writerows([("seconds", "tree_rss_mb", "worker_rss_mb", "open_fds"), *recorder.samples])
    plot_usage(csv_path, folder / f"{scenario}_usage.png")
    first, last = recorder.settled()[0], recorder.samples[-1]
    growth = recorder.worker_growth_mb_per_10_min()
    print(
        f"worker RSS: {first[2]:.0f} MB at {first[0]:.0f} s, {last[2]:.0f} MB at the end; fitted growth "
        f"{growth:+.2f} MB per 10 min (rule: under {MAX_GROWTH_MB_PER_10_MIN:g}); open descriptors "
        f"{first[3]} -> {last[3]}; whole server {first[1]:.0f} -> {last[1]:.0f} MB"
    )
    return growth < MAX_GROWTH_MB_PER_10_MIN and last[3] <= first[3]


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
        recorder = UsageRecorder(pid) if pid else None
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
    usage_holds = report_usage(recorder, folder, args.scenario) if recorder and recorder.samples else True
    print(f"reports: {folder}/{args.scenario}_stats.csv, {folder}/{args.scenario}.html")
    return 0 if result.exit_code == 0 and result.failures == 0 and usage_holds else 1


if __name__ == "__main__":
    sys.exit(main())
