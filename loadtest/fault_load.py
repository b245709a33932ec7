"""Fault scenarios under load: overload at 2x the maximum, SIGTERM, and a worker killed."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from dataclasses import dataclass

import psutil

from loadtest.fault_kit import (
    GRACE_S,
    PREDICT,
    Report,
    fresh_server,
    health_probes,
    lone_latency_ms,
    percentile,
    side_by_side_latency_ms,
    statuses,
    until_answered,
    worker_of,
)
from loadtest.raw_http import ANSWERED, LOST, REFUSED, Connection, Outcome, closed_loop, encode_request, open_loop
from local_servers import LOOPBACK

USERS = 32
OVERLOAD_S = 10
AFTER_LOAD_S = (1, 2, 4)  # lone-request latency measured this long after the overload stops
JUDGED_REQUESTS = 100  # lone requests whose median is compared: single milliseconds drift on these machines
READINESS_TURNS_WITHIN_S = 1.0  # BentoML's supervisor passes SIGTERM on to its workers in its own loop


async def overload(tag: str, report: Report) -> None:
    """2x the measured maximum for OVERLOAD_S, then lone requests beside a second, fresh server.

    The comparison after the load is side by side, against a server started with the loaded one
    that saw no load: measured before the load instead, single milliseconds of this machine's
    drift over the run (a fresh server measured 2.7-5.2 ms across runs) decided the rule.
    """
    with fresh_server(tag) as (reference_port, _), fresh_server(tag) as (port, _):
        await lone_latency_ms(reference_port, 10)  # warm-up, as the loaded server gets
        await lone_latency_ms(port, 10)
        fresh = await lone_latency_ms(port, JUDGED_REQUESTS)
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(5, stop.set)
        saturated = await closed_loop(LOOPBACK, port, PREDICT, USERS, stop)
        maximum = sum(o.status == 200 for o in saturated) / 5
        with health_probes(port, OVERLOAD_S) as health:
            outcomes = await open_loop(LOOPBACK, port, PREDICT, rate=2 * maximum, seconds=OVERLOAD_S)
        load_stopped, after_load = time.perf_counter(), {}
        for seconds in AFTER_LOAD_S:
            await asyncio.sleep(max(0.0, load_stopped + seconds - time.perf_counter()))
            judged = seconds == AFTER_LOAD_S[-1]
            after_load[seconds] = await side_by_side_latency_ms(
                (port, reference_port), JUDGED_REQUESTS if judged else 20
            )
        after, reference = after_load[AFTER_LOAD_S[-1]]
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
            ("lone /predict before the load (median)", f"{fresh:.2f} ms"),
            *(
                (
                    f"lone /predict {seconds} s after the load, beside a fresh server (medians)",
                    f"{ms:.2f} ms against {fresh_ms:.2f} ms ({ms / fresh_ms:.2f}x)",
                )
                for seconds, (ms, fresh_ms) in after_load.items()
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
        "overload",
        f"lone request {AFTER_LOAD_S[-1]} s after the load within 1.5x of a fresh server beside it",
        f"{after / reference:.2f}x ({after:.2f} ms against {reference:.2f} ms)",
        after <= 1.5 * reference,
    )


@dataclass(frozen=True)
class Termination:
    """What SIGTERM under load did: every request's outcome, /readyz after it, and the exit time."""

    outcomes: list[Outcome]
    readyz: Outcome
    readyz_turned_ms: float
    exit_s: float


async def terminate_under_load(port: int, pid: int, users: int = USERS, warm_s: float = 3) -> Termination:
    """`users` clients send /predict; after `warm_s` the server gets SIGTERM; runs until it exits.

    A probe connection opened before the signal asks /readyz until it stops answering 200.
    """
    server = psutil.Process(pid)
    probe = Connection(LOOPBACK, port)
    await probe.ask(encode_request("GET", "/readyz"))
    stop = asyncio.Event()
    load = asyncio.create_task(closed_loop(LOOPBACK, port, PREDICT, users, stop))
    await asyncio.sleep(warm_s)
    signalled = time.perf_counter()
    server.send_signal(signal.SIGTERM)
    readyz = await probe.ask(encode_request("GET", "/readyz"))
    while readyz.status == 200 and time.perf_counter() - signalled < READINESS_TURNS_WITHIN_S:
        readyz = await probe.ask(encode_request("GET", "/readyz"))
    readyz_turned_ms = (time.perf_counter() - signalled) * 1000
    exit_s = float("inf")
    while time.perf_counter() - signalled < GRACE_S + 10:
        if not server.is_running() or server.status() == psutil.STATUS_ZOMBIE:
            exit_s = time.perf_counter() - signalled
            break
        await asyncio.sleep(0.05)
    stop.set()
    return Termination(await load, readyz, readyz_turned_ms, exit_s)


async def sigterm(tag: str, report: Report) -> None:
    with fresh_server(tag) as (port, pid):
        result = await terminate_under_load(port, pid)
    outcomes, readyz, readyz_turned_ms, exit_s = result.outcomes, result.readyz, result.readyz_turned_ms, result.exit_s
    counts = Counter(o.kind for o in outcomes)
    report.table(
        "SIGTERM under load (32 clients)",
        [
            ("measure", "value"),
            ("answers", statuses(outcomes)),
            (
                "/readyz on an open connection after SIGTERM",
                f"{readyz.status or readyz.kind} after {readyz_turned_ms:.0f} ms",
            ),
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
        "sigterm",
        f"/readyz answers 503 within {READINESS_TURNS_WITHIN_S:g} s of SIGTERM",
        f"{readyz.status or readyz.kind} after {readyz_turned_ms:.0f} ms",
        readyz.status == 503,
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
