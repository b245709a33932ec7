"""What the fault suite's scenarios share: a fresh server, its worker's memory, health probes from
another process, the latency of a lone request, and the report of rules and measurements."""

from __future__ import annotations

import asyncio
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

import model_contract as contract
from loadtest.raw_http import ANSWERED, Connection, Outcome, encode_request
from local_servers import LOOPBACK, bentoml_command, is_bentoml_worker, serving

HEADER_TIMEOUT_S = 5.0  # the suite's server runs with short deadlines so the scenarios stay short
BODY_TIMEOUT_S = 5.0
GRACE_S = 20.0
SERVER_ENV = {
    "MNIST_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
    "MNIST_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    "MNIST_SHUTDOWN_GRACE_S": str(GRACE_S),
}
PROBE_FAILED_MS = 1e6  # a failed health probe counts as this slow
MEMORY_CEILING_MB = 3000  # worker RSS that no scenario may exceed (stated in the README)


@dataclass
class Rule:
    scenario: str
    text: str
    measured: str
    holds: bool


@dataclass
class Report:
    rules: list[Rule] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def check(self, scenario: str, text: str, measured: str, holds: bool) -> None:
        self.rules.append(Rule(scenario, text, measured, holds))
        print(f"  [{'ok' if holds else 'BROKEN'}] {text}: {measured}", flush=True)

    def table(self, heading: str, rows: list[tuple]) -> None:
        self.lines += [f"### {heading}", "", "| " + " | ".join(map(str, rows[0])) + " |"]
        self.lines.append("|" + " --- |" * len(rows[0]))
        self.lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows[1:]]
        self.lines.append("")


def digit_request() -> bytes:
    image = np.zeros(contract.INPUT_SHAPE, dtype=int)
    image[6:22, 13:16] = 255  # a "1"
    return encode_request("POST", "/predict", json.dumps({"images": [image.tolist()]}).encode())


PREDICT = digit_request()


def worker_of(server_pid: int) -> psutil.Process:
    for child in psutil.Process(server_pid).children(recursive=True):
        if is_bentoml_worker(child):
            return child
    raise RuntimeError("no BentoML worker process found")


class PeakMemory:
    """Samples a worker's RSS every 50 ms in the event loop; `peak_mb` is the highest seen."""

    def __init__(self, process: psutil.Process) -> None:
        self.process, self.peak_mb, self.task = process, 0.0, None

    async def _sample(self) -> None:
        while True:
            try:
                self.peak_mb = max(self.peak_mb, self.process.memory_info().rss / 2**20)
            except psutil.Error:
                return
            await asyncio.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self.task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *_: object) -> None:
        self.task.cancel()


@contextmanager
def fresh_server(tag: str):
    """A new `bentoml serve` for one scenario; yields (port, pid). Its log goes to a temporary file."""
    env = {contract.MODEL_TAG_ENV: tag, **SERVER_ENV}
    with tempfile.NamedTemporaryFile(prefix="faults-serve-", suffix=".log", delete=False) as log:
        pass
    try:
        with serving(bentoml_command(), "/readyz", env, Path(log.name)) as (url, pid):
            yield int(url.rsplit(":", 1)[1]), pid
    except RuntimeError as error:
        raise RuntimeError(f"{error}; server log:\n{Path(log.name).read_text()[-3000:]}") from error


def percentile(values: list[float], share: float) -> float:
    return float(np.percentile(values, share)) if values else float("nan")


def statuses(outcomes: list[Outcome]) -> str:
    counts = Counter(o.status if o.kind == ANSWERED else o.kind for o in outcomes)
    return ", ".join(f"{key}: {count}" for key, count in sorted(counts.items(), key=str))


async def lone_latency_ms(port: int, requests: int = 30) -> float:
    """Median of sequential single requests on one connection: the latency of an idle server."""
    connection = Connection(LOOPBACK, port)
    times = [(await connection.ask(PREDICT)).seconds * 1000 for _ in range(requests)]
    connection.close()
    return statistics.median(times)


async def side_by_side_latency_ms(ports: tuple[int, int], requests: int, chunk: int = 10) -> tuple[float, float]:
    """Medians of lone requests to two servers, sent in alternating chunks so that both see the
    same moments of this noisy machine."""
    connections = [Connection(LOOPBACK, port) for port in ports]
    times: list[list[float]] = [[], []]
    for _ in range(0, requests, chunk):
        for connection, server_times in zip(connections, times, strict=True):
            server_times += [(await connection.ask(PREDICT)).seconds * 1000 for _ in range(chunk)]
    for connection in connections:
        connection.close()
    return statistics.median(times[0]), statistics.median(times[1])


def probe_health(port: int, seconds: float, every_s: float, answers: multiprocessing.Queue) -> None:
    """/readyz and /livez in turn on one keep-alive connection for `seconds`; puts latencies in ms.

    Runs in a process of its own: probing from the load generator's event loop measured that
    loop's own backlog, not the server's.
    """
    connection, latencies, paths = http.client.HTTPConnection(LOOPBACK, port, timeout=10), [], ("/readyz", "/livez")
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            connection.request("GET", paths[len(latencies) % 2])
            healthy = connection.getresponse().read() is not None
        except (OSError, http.client.HTTPException):
            connection.close()
            healthy = False
        latencies.append((time.perf_counter() - started) * 1000 if healthy else PROBE_FAILED_MS)
        time.sleep(every_s)
    answers.put(latencies)


@contextmanager
def health_probes(port: int, seconds: float, every_s: float = 0.02):
    """Probe health from another process while the body of the `with` runs; yields a list filled after."""
    answers: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    prober = multiprocessing.get_context("spawn").Process(target=probe_health, args=(port, seconds, every_s, answers))
    prober.start()
    latencies: list[float] = []
    yield latencies
    latencies.extend(answers.get(timeout=seconds + 30))
    prober.join()


def is_error_body(body: bytes) -> bool:
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and set(parsed) == {"error"} and isinstance(parsed["error"], str)


async def until_answered(port: int, since: float, limit_s: float = 60) -> float:
    """Seconds from `since` until a fresh connection gets a 200 from /predict (inf past `limit_s`)."""
    while time.perf_counter() - since < limit_s:
        connection = Connection(LOOPBACK, port)
        outcome = await connection.ask(PREDICT)
        connection.close()
        if outcome.kind == ANSWERED and outcome.status == 200:
            return time.perf_counter() - since
        await asyncio.sleep(0.05)
    return float("inf")


def write_report(report: Report, path: Path, tag: str) -> None:
    import bentoml

    lines = [
        "# Fault suite",
        "",
        f"`python -m loadtest.faults`, {time.strftime('%Y-%m-%d')}, model {tag}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}, BentoML {bentoml.__version__}. A fresh server per scenario, "
        f"deadlines shortened for the run: {SERVER_ENV}.",
        "",
        "## Rules",
        "",
        "| scenario | rule | measured | holds |",
        "| --- | --- | --- | --- |",
        *[f"| {r.scenario} | {r.text} | {r.measured} | {'yes' if r.holds else '**NO**'} |" for r in report.rules],
        "",
        "## Measurements",
        "",
        *report.lines,
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
