"""Start a server process on a free loopback port and wait until it is ready: the harness of the
test suite (through `tests/conftest.py`) and of the load tests and benchmarks alike, so that both
start the service the same way. Loopback only: load never leaves the machine."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

PROJECT_ROOT = Path(__file__).resolve().parent
READY_TIMEOUT_S = 180
READY_POLL_S = 0.2
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen | None = None, ready_path: str = "/readyz") -> float:
    """Poll until the server answers 200 and return the seconds it took; fail if `process` (when
    the server is one of ours, not a container's) exits, or the server takes too long."""
    started = time.monotonic()
    while time.monotonic() - started < READY_TIMEOUT_S:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before it was ready")
        try:
            if httpx.get(f"{url}{ready_path}", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(READY_POLL_S)
    raise RuntimeError(f"server not ready after {READY_TIMEOUT_S} s")


@contextmanager
def serving(
    command: list[str], ready_path: str, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[tuple[str, int]]:
    """Run a server command with {port} filled in; yields (url, pid) once ready, stops it after."""
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    output = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env={**os.environ, **(env or {})}, stdout=output, stderr=subprocess.STDOUT
    )
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_ready(url, process, ready_path)
        yield url, process.pid
    finally:
        try:
            family = psutil.Process(process.pid).children(recursive=True)
        except psutil.Error:  # it already exited
            family = []
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        for leftover in family:  # what the server started and did not stop (Ray's daemons do outlive it)
            with contextlib.suppress(psutil.Error):
                leftover.kill()
        if log:
            output.close()


def is_bentoml_worker(process: psutil.Process) -> bool:
    """Whether a process is one of `bentoml serve`'s workers (its children run this module)."""
    return any("_bentoml_impl.worker" in part for part in process.cmdline())


def bentoml_command(service: str = "service.service:MnistClassifier") -> list[str]:
    return [sys.executable, "-m", "bentoml", "serve", service, "--host", LOOPBACK, "--port", "{port}"]


def uvicorn_command(app: str) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--host", LOOPBACK, "--port", "{port}", "--log-level", "warning"]
