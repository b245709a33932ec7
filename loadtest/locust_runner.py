"""Run locust headless as a subprocess and read back its CSV statistics and its own CPU use."""

from __future__ import annotations

import csv
import functools
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from local_servers import PROJECT_ROOT

LOCUSTFILE = PROJECT_ROOT / "loadtest" / "locustfile.py"
STOP_TIMEOUT_S = 10  # users get this long to finish their last request


@dataclass(frozen=True)
class LoadResult:
    requests: int
    failures: int
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    generator_cpu: float  # the locust process's CPU use, in cores (1.0 = one core saturated)
    exit_code: int


@functools.cache
def require_digits() -> None:
    """Stop with one line when the MNIST test digits the users send cannot be loaded: inside locust,
    a missing file became a download traceback and then a StopIteration from every user."""
    from training.data import DataError, load_mnist

    try:
        load_mnist()
    except DataError as error:
        raise SystemExit(f"loadtest: {error}") from None


def run_locust(
    url: str,
    user_class: str,
    users: int,
    seconds: int,
    csv_prefix: Path,
    extra: list[str] | None = None,
    html: bool = False,
) -> LoadResult:
    """One bounded locust run; returns the aggregated statistics."""
    require_digits()
    csv_prefix.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--stop-timeout",
        str(STOP_TIMEOUT_S),
        "--host",
        url,
        "--csv",
        str(csv_prefix),
        "--loglevel",
        "WARNING",
        *(extra or []),
        user_class,
    ]
    if html:
        command[-1:-1] = ["--html", f"{csv_prefix}.html"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT)
    watcher = psutil.Process(process.pid)
    started, cpu_seconds = time.monotonic(), 0.0
    while process.poll() is None:
        try:
            times = watcher.cpu_times()
            cpu_seconds = times.user + times.system
        except psutil.Error:
            pass
        time.sleep(0.5)
        if time.monotonic() - started > seconds + STOP_TIMEOUT_S + 120:
            process.kill()
    elapsed = time.monotonic() - started
    return _read_stats(csv_prefix, cpu_seconds / max(elapsed, 1e-9), process.returncode)


def _read_stats(csv_prefix: Path, generator_cpu: float, exit_code: int) -> LoadResult:
    with open(f"{csv_prefix}_stats.csv", newline="") as handle:
        total = next(row for row in csv.DictReader(handle) if row["Name"] == "Aggregated")
    return LoadResult(
        requests=int(total["Request Count"]),
        failures=int(total["Failure Count"]),
        requests_per_s=float(total["Requests/s"]),
        p50_ms=float(total["50%"]),
        p95_ms=float(total["95%"]),
        p99_ms=float(total["99%"]),
        generator_cpu=generator_cpu,
        exit_code=exit_code,
    )
