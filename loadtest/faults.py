"""The fault suite: a fresh `bentoml serve` per scenario, hostile traffic, and rules that must hold.

    python -m loadtest.faults                       # all scenarios, results/faults.md
    python -m loadtest.faults --only sigterm overload

Scenarios: overload at 2x the measured maximum (with health probes and the latency of a lone
request afterwards), slow and lying clients, big and malformed bodies on every route, image
floods, SIGTERM under load, a worker killed under load, and a flood of unknown paths. Each
prints what it measured; the rules are checked at the end, written to results/faults.md, and the
exit code is 1 if any rule is broken. All traffic goes to 127.0.0.1 and is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import io
import json
import multiprocessing
import os
import signal
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
from PIL import Image

import model_contract as contract
from loadtest.raw_http import ANSWERED, LOST, REFUSED, Connection, Outcome, closed_loop, encode_request, open_loop
from loadtest.servers import LOOPBACK, bentoml_command, serving

HEADER_TIMEOUT_S = 5.0  # the suite's server runs with short deadlines so the scenarios stay short
BODY_TIMEOUT_S = 5.0
GRACE_S = 20.0
SERVER_ENV = {
    "MNIST_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
    "MNIST_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    "MNIST_SHUTDOWN_GRACE_S": str(GRACE_S),
}
USERS = 32
FLOOD_SIDE = 6324  # a 169 KB RGBA PNG of 40 million pixels, just under the per-image limit
FLOOD_UPLOADS = 48
UNKNOWN_PATHS = 5500
OVERLOAD_S = 10
BODIES_PROBE_S = 10  # health is probed this long while the hostile bodies go in
PROBE_FAILED_MS = 1e6  # a failed health probe counts as this slow
AFTER_LOAD_S = (1, 2, 4)  # lone-request latency measured this long after the overload stops
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
        if any("_bentoml_impl.worker" in part for part in child.cmdline()):
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


async def overload(tag: str, report: Report) -> None:
    with fresh_server(tag) as (port, _):
        await lone_latency_ms(port, 10)  # warm-up
        fresh = await lone_latency_ms(port)
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(5, stop.set)
        saturated = await closed_loop(LOOPBACK, port, PREDICT, USERS, stop)
        maximum = sum(o.status == 200 for o in saturated) / 5
        with health_probes(port, OVERLOAD_S) as health:
            outcomes = await open_loop(LOOPBACK, port, PREDICT, rate=2 * maximum, seconds=OVERLOAD_S)
        load_stopped, after_load = time.perf_counter(), {}
        for seconds in AFTER_LOAD_S:
            await asyncio.sleep(max(0.0, load_stopped + seconds - time.perf_counter()))
            after_load[seconds] = await lone_latency_ms(port, 20)
        after = after_load[AFTER_LOAD_S[-1]]
    unexpected = [o for o in outcomes if o.kind != ANSWERED or o.status not in (200, 429, 503)]
    no_retry_after = [o for o in outcomes if o.status in (429, 503) and not o.retry_after]
    report.table(
        "Overload at 2x",
        [
            ("measure", "value"),
            ("maximum, 32 clients", f"{maximum:.0f} req/s"),
            (f"offered for {OVERLOAD_S} s", f"{2 * maximum:.0f} req/s, {len(outcomes):,} requests"),
            ("answers", statuses(outcomes)),
            (
                "/readyz + /livez p50 / p99 / max",
                f"{percentile(health, 50):.1f} / {percentile(health, 99):.1f} / {max(health):.1f} ms "
                f"({len(health)} probes)",
            ),
            ("lone /predict, fresh server (median)", f"{fresh:.2f} ms"),
            *(
                (f"lone /predict {seconds} s after the load (median)", f"{ms:.2f} ms ({ms / fresh:.2f}x)")
                for seconds, ms in after_load.items()
            ),
        ],
    )
    report.check("overload", "only 200, 429 or 503 at 2x the maximum", statuses(outcomes), not unexpected)
    report.check(
        "overload", "every 429 and 503 carries Retry-After", f"{len(no_retry_after)} without", not no_retry_after
    )
    report.check(
        "overload", "health p99 within 50 ms", f"{percentile(health, 99):.1f} ms", percentile(health, 99) <= 50
    )
    report.check(
        "overload", "lone request after the load within 1.5x of fresh", f"{after / fresh:.2f}x", after <= 1.5 * fresh
    )


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    try:
        await asyncio.wait_for(reader.read(), 1)  # to the end of the stream: the server closed it
    except (TimeoutError, OSError):
        return False
    return True


async def slow_clients(tag: str, report: Report) -> None:
    async def timed(data: bytes) -> tuple[float, bytes]:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        started = time.perf_counter()
        writer.write(data)
        answer = await asyncio.wait_for(reader.read(4096), 60)
        writer.close()
        return time.perf_counter() - started, answer

    with fresh_server(tag) as (port, _):
        fresh = await lone_latency_ms(port)
        lying = await timed(
            b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"
        )
        silent = await timed(b"")
        half = await timed(b"POST /predict HTTP/1.1\r\nhost: x\r\n")
        loris = [await asyncio.open_connection(LOOPBACK, port) for _ in range(500)]
        for _, writer in loris:
            writer.write(b"POST /predict HTTP/1.1\r\n")
        during = await lone_latency_ms(port)
        await asyncio.sleep(HEADER_TIMEOUT_S + 1)
        closed = sum([await closed_by_server(reader) for reader, _ in loris])
        for _, writer in loris:
            writer.close()
    report.table(
        "Slow and lying clients",
        [
            ("client", "answer", "after"),
            ("Content-Length 1000, sends 1 byte", lying[1].split(b"\r\n")[0].decode(), f"{lying[0]:.1f} s"),
            ("connects, sends nothing", "closed" if not silent[1] else silent[1][:30], f"{silent[0]:.1f} s"),
            ("half the headers", half[1].split(b"\r\n")[0].decode(), f"{half[0]:.1f} s"),
            (
                "500 slowloris connections",
                f"lone /predict {during:.2f} ms (fresh {fresh:.2f} ms)",
                f"{closed} closed by the server",
            ),
        ],
    )
    report.check(
        "slow",
        "lying Content-Length gets 408 within the body deadline",
        f"{lying[0]:.1f} s",
        b" 408 " in lying[1] and lying[0] <= BODY_TIMEOUT_S + 1,
    )
    report.check(
        "slow",
        "silent connection closed within the header deadline",
        f"{silent[0]:.1f} s",
        silent[1] == b"" and silent[0] <= HEADER_TIMEOUT_S + 1,
    )
    report.check(
        "slow",
        "half headers get 408 within the header deadline",
        f"{half[0]:.1f} s",
        b" 408 " in half[1] and half[0] <= HEADER_TIMEOUT_S + 1,
    )
    report.check(
        "slow",
        "500 slowloris connections leave /predict fast (within 3x)",
        f"{during / fresh:.2f}x",
        during <= 3 * fresh,
    )


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def multipart(field_name: str, files: list[bytes], boundary: str = "faultsuiteboundary") -> tuple[bytes, str]:
    parts = [
        f'--{boundary}\r\ncontent-disposition: form-data; name="{field_name}"; filename="f{i}.png"\r\n'
        f"content-type: image/png\r\n\r\n".encode()
        + data
        + b"\r\n"
        for i, data in enumerate(files)
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def hostile_bodies() -> list[tuple[str, bytes]]:
    """(what, raw request) for every route: oversized, chunked, wrong type, malformed, deep."""
    many_lists = b'{"images": [' + b",".join([b"[0]"] * 4_000_000) + b"]}"
    png_form, png_type = multipart("images", [png_bytes(Image.new("L", (28, 28)))])
    huge_npy_header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
    huge_npy = (
        b"\x93NUMPY\x01\x00" + len(huge_npy_header + " \n").to_bytes(2, "little") + (huge_npy_header + " \n").encode()
    )
    npy_form, npy_type = multipart("array", [huge_npy])
    requests = []
    for route in (
        "/predict",
        "/predict_npy",
        "/predict_image",
        "/predict_images",
        "/model_info",
        "/docs.json",
        "/nope",
    ):
        for method in ("POST", "GET"):
            requests.append(
                (
                    f"{method} {route}, declares 50 MB",
                    f"{method} {route} HTTP/1.1\r\nhost: x\r\ncontent-length: 50000000\r\n\r\n".encode(),
                )
            )
        chunk = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"
        requests.append(
            (
                f"GET {route}, 20 MB chunked",
                f"GET {route} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".encode()
                + chunk * 20
                + b"0\r\n\r\n",
            )
        )
        requests.append((f"POST {route}, multipart form", encode_request("POST", route, png_form, png_type)))
        requests.append((f"POST {route}, JSON", encode_request("POST", route, b'{"images": [[1, 2]]}')))
        requests.append(
            (f"POST {route}, garbage", encode_request("POST", route, os.urandom(4096), "application/octet-stream"))
        )
        requests.append((f"POST {route}, 4M nested lists", encode_request("POST", route, many_lists)))
        requests.append(
            (
                f"POST {route}, deep nesting",
                encode_request("POST", route, b'{"images": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
            )
        )
    requests.append(
        ("POST /predict_npy, shape (2**32, 2**32) header", encode_request("POST", "/predict_npy", npy_form, npy_type))
    )
    return requests


async def bad_bodies(tag: str, report: Report) -> None:
    rows, server_errors, bad_bodies_seen = [("request", "status", "seconds")], [], []
    with fresh_server(tag) as (port, pid):
        worker = worker_of(pid)
        before = worker.memory_info().rss / 2**20
        with PeakMemory(worker) as memory, health_probes(port, BODIES_PROBE_S) as health:
            for what, request in hostile_bodies():
                outcome = await Connection(LOOPBACK, port).ask(request)
                rows.append((what, outcome.status or outcome.kind, f"{outcome.seconds:.2f}"))
                if outcome.kind != ANSWERED or outcome.status >= 500:
                    server_errors.append(what)
                elif outcome.status >= 400 and not is_error_body(outcome.body):
                    bad_bodies_seen.append(what)
        still_serving = (await Connection(LOOPBACK, port).ask(PREDICT)).status == 200
    report.table("Big and malformed bodies on every route", rows)
    report.check("bodies", "no 5xx and no dropped connection", ", ".join(server_errors) or "none", not server_errors)
    report.check(
        "bodies", 'every refusal is {"error": "..."}', ", ".join(bad_bodies_seen) or "all", not bad_bodies_seen
    )
    report.check(
        "bodies",
        "health p99 within 100 ms while they are parsed",
        f"{percentile(health, 99):.1f} ms",
        percentile(health, 99) <= 100,
    )
    report.check(
        "bodies",
        f"worker under {MEMORY_CEILING_MB} MB",
        f"{before:.0f} -> peak {memory.peak_mb:.0f} MB",
        memory.peak_mb <= MEMORY_CEILING_MB,
    )
    report.check("bodies", "a good request is answered afterwards", str(still_serving), still_serving)


def is_error_body(body: bytes) -> bool:
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and set(parsed) == {"error"} and isinstance(parsed["error"], str)


async def image_flood(tag: str, report: Report) -> None:
    big = png_bytes(Image.new("RGBA", (FLOOD_SIDE, FLOOD_SIDE), (255, 255, 255, 255)))
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
    report.table(
        "Image floods",
        [
            ("request", "answers", "seconds", "worker RSS"),
            (
                f"{FLOOD_UPLOADS} concurrent {FLOOD_SIDE}x{FLOOD_SIDE} RGBA PNGs ({len(big) // 1024} KB each)",
                statuses(uploads),
                f"{flood_seconds:.1f}",
                f"{before:.0f} -> peak {memory.peak_mb:.0f} -> {after:.0f} MB",
            ),
            ("64 of them in one /predict_images", statuses([sixty_four]), f"{sixty_four.seconds:.2f}", ""),
        ],
    )
    report.check(
        "images",
        f"worker under {MEMORY_CEILING_MB} MB during the flood",
        f"peak {memory.peak_mb:.0f} MB",
        memory.peak_mb <= MEMORY_CEILING_MB,
    )
    report.check(
        "images",
        "every upload answered (blank page: 422)",
        statuses(uploads),
        all(o.kind == ANSWERED and o.status < 500 for o in uploads),
    )
    report.check(
        "images",
        "64 huge files in one request refused at once (413)",
        f"{sixty_four.status} in {sixty_four.seconds:.2f} s",
        sixty_four.status == 413 and sixty_four.seconds < 5,
    )


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


async def sigterm(tag: str, report: Report) -> None:
    with fresh_server(tag) as (port, pid):
        server = psutil.Process(pid)
        probe = Connection(LOOPBACK, port)
        await probe.ask(encode_request("GET", "/readyz"))
        stop = asyncio.Event()
        load = asyncio.create_task(closed_loop(LOOPBACK, port, PREDICT, USERS, stop))
        await asyncio.sleep(3)
        signalled = time.perf_counter()
        server.send_signal(signal.SIGTERM)
        readyz = await probe.ask(encode_request("GET", "/readyz"))
        exit_s = float("inf")
        while time.perf_counter() - signalled < GRACE_S + 10:
            if not server.is_running() or server.status() == psutil.STATUS_ZOMBIE:
                exit_s = time.perf_counter() - signalled
                break
            await asyncio.sleep(0.05)
        stop.set()
        outcomes = await load
    counts = Counter(o.kind for o in outcomes)
    report.table(
        "SIGTERM under load (32 clients)",
        [
            ("measure", "value"),
            ("answers", statuses(outcomes)),
            ("/readyz on an open connection just after SIGTERM", readyz.status or readyz.kind),
            ("server exited after", f"{exit_s:.1f} s (grace {GRACE_S:g} s)"),
        ],
    )
    report.check(
        "sigterm",
        "zero accepted requests lost",
        f"{counts[LOST]} lost, {counts[REFUSED]} refused before acceptance",
        counts[LOST] == 0,
    )
    answered = [o for o in outcomes if o.kind == ANSWERED]
    report.check(
        "sigterm", "every accepted request answered 200", statuses(answered), all(o.status == 200 for o in answered)
    )
    report.check(
        "sigterm", "/readyz answers 503 once draining", str(readyz.status or readyz.kind), readyz.status == 503
    )
    report.check("sigterm", "process exits within the grace period", f"{exit_s:.1f} s", exit_s <= GRACE_S + 5)


async def worker_kill(tag: str, report: Report) -> None:
    with fresh_server(tag) as (port, pid):
        worker = worker_of(pid)
        stop = asyncio.Event()
        load = asyncio.create_task(closed_loop(LOOPBACK, port, PREDICT, USERS, stop))
        await asyncio.sleep(3)
        killed = time.perf_counter()
        worker.send_signal(signal.SIGKILL)
        recovery_s = await until_answered(port, killed)
        await asyncio.sleep(2)
        stop.set()
        outcomes = await load
    failed = sum(not (o.kind == ANSWERED and o.status == 200) for o in outcomes)
    report.table(
        "Worker killed with SIGKILL under load (32 clients)",
        [
            ("measure", "value"),
            ("answers", statuses(outcomes)),
            ("/predict answers again after", f"{recovery_s:.1f} s"),
        ],
    )
    report.check(
        "sigkill",
        "worker replaced: /predict answers again",
        f"after {recovery_s:.1f} s, {failed} requests failed",
        recovery_s < 60,
    )


async def unknown_paths(tag: str, report: Report) -> None:
    with fresh_server(tag) as (port, _):
        connection = Connection(LOOPBACK, port)
        before = len((await connection.ask(encode_request("GET", "/metrics"))).body)
        answers = [await connection.ask(encode_request("GET", f"/no/such/path/{i}")) for i in range(UNKNOWN_PATHS)]
        after = len((await connection.ask(encode_request("GET", "/metrics"))).body)
    report.table(
        "Unknown paths",
        [("measure", "value"), ("answers", statuses(answers)), ("/metrics size", f"{before:,} -> {after:,} bytes")],
    )
    report.check(
        "paths",
        f"/metrics does not grow with {UNKNOWN_PATHS:,} unknown paths",
        f"{after - before:+,} bytes",
        after - before < 1024,
    )
    report.check(
        "paths",
        'unknown paths get 404 {"error": ...}',
        statuses(answers),
        all(o.status == 404 and is_error_body(o.body) for o in answers),
    )


SCENARIOS = {
    "overload": overload,
    "slow": slow_clients,
    "bodies": bad_bodies,
    "images": image_flood,
    "sigterm": sigterm,
    "sigkill": worker_kill,
    "paths": unknown_paths,
}


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


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--tag", default=os.environ.get(contract.MODEL_TAG_ENV, contract.DEFAULT_MODEL_TAG))
    cli.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), help="run these scenarios only")
    cli.add_argument("--output", type=Path, default=Path("results/faults.md"))
    args = cli.parse_args()
    report = Report()
    for name in args.only or SCENARIOS:
        print(f"== {name}", flush=True)
        asyncio.run(SCENARIOS[name](args.tag, report))
    write_report(report, args.output, args.tag)
    broken = [rule for rule in report.rules if not rule.holds]
    print(f"{len(report.rules) - len(broken)} rules hold, {len(broken)} broken; wrote {args.output}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
