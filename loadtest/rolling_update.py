"""A rolling update rehearsed for real: two containers behind HAProxy, version A replaced by B under load.

    python -m loadtest.rolling_update        (make rolling-update-test; needs docker and haproxy)

What Kubernetes does in a rolling update with `maxSurge: 1, maxUnavailable: 0`, done by hand with
the real image: two model versions are trained (small, one epoch) and built into two images of the
CPU variant; container A serves behind HAProxy, which health-checks `/readyz` every 500 ms; locust
sends steady load through HAProxy; container B is started, and once HAProxy sees it ready,
A gets SIGTERM (`docker stop`, as the kubelet sends it) and drains. A probe asks `/model_info`
through HAProxy every 200 ms to record which version answered. Containers run as in the
Kubernetes manifest: read-only root file system, `/tmp` writable, `BENTOML_HOME` under it.
Prints and writes results/rolling_update.md. Loopback and host network only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from loadtest.locust_runner import run_locust
from local_servers import LOOPBACK, PROJECT_ROOT, free_port, wait_ready
from results_output import write_markdown

HEALTH_CHECK_MS = 500  # HAProxy's check interval; one failed check takes a server out
PROBE_INTERVAL_S = 0.2
STOP_GRACE_S = 30  # docker stop's SIGKILL deadline, as terminationGracePeriodSeconds
TRAINING = ["--limit", "5000", "--epochs", "1", "--batch-size", "16", "--schedule", "cosine", "--learning-rates",
            "5e-3", "--warmup-epochs", "0.2", "--no-augment", "--verbose", "2"]  # fmt: skip
HAPROXY_CONFIG = """
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
    option http-server-close
frontend front
    bind {loopback}:{front}
    default_backend service
backend service
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter {check_ms}ms fall 1 rise 2
    server a {loopback}:{port_a} check
    server b {loopback}:{port_b} check
"""


def run(command: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command, cwd=PROJECT_ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"rolling update: {' '.join(command[:4])} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def build_version_image(home: Path, seed: int, image: str) -> str:
    """Train a small model version into `home` and build the CPU image serving it; returns its tag."""
    env = {"BENTOML_HOME": str(home), "MNIST_IMAGE": "cpu", "DOCKER_BUILDKIT": "0"}
    run([sys.executable, "-m", "training", *TRAINING, "--seed", str(seed), "--output", str(home / "runs")], env)
    models = json.loads(run([sys.executable, "-m", "bentoml", "models", "list", "-o", "json"], env))
    model_tag = max(models, key=lambda model: model["creation_time"])["tag"]
    bento = run([sys.executable, "-m", "bentoml", "build", "--output", "tag"], {**env, "MNIST_MODEL_TAG": model_tag})
    bento_tag = bento.strip().splitlines()[-1].removeprefix("__tag__:")
    run(
        [sys.executable, "-m", "bentoml", "containerize", bento_tag, "--image-tag", image, "--opt", "network=host"], env
    )
    return model_tag


def start_container(name: str, image: str, port: int) -> None:
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    run(["docker", "run", "-d", "--name", name, "--network", "host", "--read-only", "--tmpfs", "/tmp",
         "-e", "BENTOML_HOME=/tmp/bentoml", image, "--port", str(port)])  # fmt: skip


def probe_versions(url: str, started: float, stop: threading.Event, answers: list) -> None:
    """Ask /model_info through the load balancer every PROBE_INTERVAL_S until `stop`; append
    (seconds since `started`, the tag that answered, or what went wrong)."""
    with httpx.Client(timeout=5) as client:
        while not stop.wait(PROBE_INTERVAL_S):
            try:
                response = client.get(f"{url}/model_info")
                seen = response.json()["tag"] if response.status_code == 200 else f"HTTP {response.status_code}"
            except (httpx.HTTPError, ValueError, KeyError) as error:
                seen = type(error).__name__
            answers.append((time.monotonic() - started, seen))


def rehearse(seconds: int, users: int, switch_after_s: float, folder: Path) -> list[str]:
    for tool in ("docker", "haproxy"):
        if shutil.which(tool) is None:
            sys.exit(
                f"rolling update: {tool} is needed (docker: ../shared/tools/docker-offline.sh; apt-get install haproxy)"
            )
    home_a, home_b = Path(tempfile.mkdtemp(prefix="rolling-a-")), Path(tempfile.mkdtemp(prefix="rolling-b-"))
    print("== training and building version A and version B", flush=True)
    version_a = build_version_image(home_a, seed=1, image="mnist-digit-service:rehearsal-a")
    version_b = build_version_image(home_b, seed=2, image="mnist-digit-service:rehearsal-b")
    front, port_a, port_b = free_port(), free_port(), free_port()
    config = folder / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(loopback=LOOPBACK, front=front, port_a=port_a, port_b=port_b,
                                            check_ms=HEALTH_CHECK_MS))  # fmt: skip
    balancer = subprocess.Popen(["haproxy", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://{LOOPBACK}:{front}"
    try:
        start_container("rehearsal-a", "mnist-digit-service:rehearsal-a", port_a)
        wait_ready(f"http://{LOOPBACK}:{port_a}")
        wait_ready(url)
        probe_started, probe_stop, answers = time.monotonic(), threading.Event(), []
        probe = threading.Thread(target=probe_versions, args=(url, probe_started, probe_stop, answers), daemon=True)
        probe.start()
        load: dict = {}
        loader = threading.Thread(
            target=lambda: load.update(
                result=run_locust(url, "SingleArrayUser", users, seconds, folder / "locust", ["--no-check-digits"])
            ),
            daemon=True,
        )
        loader.start()
        time.sleep(switch_after_s)
        switch_started = time.monotonic()
        print(f"== {switch_after_s:.0f} s into the load: starting B, then draining A", flush=True)
        start_container("rehearsal-b", "mnist-digit-service:rehearsal-b", port_b)
        b_ready_s = wait_ready(f"http://{LOOPBACK}:{port_b}")
        time.sleep(HEALTH_CHECK_MS / 1000 * 3)  # HAProxy needs `rise 2` passing checks to send B traffic
        stop_started = time.monotonic()
        run(["docker", "stop", "-t", str(STOP_GRACE_S), "rehearsal-a"])
        a_stopped_s = time.monotonic() - stop_started
        switch_s = time.monotonic() - switch_started
        loader.join()
        probe_stop.set()
        probe.join()
    finally:
        balancer.terminate()
        for name in ("rehearsal-a", "rehearsal-b"):
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        shutil.rmtree(home_a, ignore_errors=True)
        shutil.rmtree(home_b, ignore_errors=True)
    result = load["result"]
    switch_at = switch_started - probe_started
    before = sorted({seen for at, seen in answers if at < switch_at})
    after = sorted({seen for at, seen in answers if at > switch_at + switch_s})
    probe_errors = [seen for _, seen in answers if seen not in (version_a, version_b)]
    return [
        f"Rolling update rehearsed {time.strftime('%Y-%m-%d')}: `python -m loadtest.rolling_update` (CPU image, "
        f"HAProxy health checks on /readyz every {HEALTH_CHECK_MS} ms, {users} locust users, {seconds} s).",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| requests sent (locust, one image each) | {result.requests:,} |",
        f"| failed (not a 200 with one answer of ten probabilities) | {result.failures} |",
        f"| requests/s, p50, p99 | {result.requests_per_s:.0f}, {result.p50_ms:.0f} ms, {result.p99_ms:.0f} ms |",
        f"| seconds for the switch (B started to A gone) | {switch_s:.1f} |",
        f"| of which B starting until ready | {b_ready_s:.1f} |",
        f"| of which A draining after SIGTERM | {a_stopped_s:.1f} |",
        f"| version before the switch (/model_info) | {', '.join(before)} |",
        f"| version after the switch | {', '.join(after)} |",
        f"| /model_info probes, failed | {len(answers)}, {len(probe_errors)} |",
        "",
        f"Version A is {version_a}, version B is {version_b} (one-epoch nets on 5,000 images: answers are checked "
        "for form, not for the digit).",
    ]


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--seconds", type=int, default=60, help="length of the load (60)")
    cli.add_argument("--users", type=int, default=16, help="locust users (16)")
    cli.add_argument("--switch-after", type=float, default=15, help="seconds of load before the switch (15)")
    args = cli.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rolling-update-"))
    lines = rehearse(args.seconds, args.users, args.switch_after, folder)
    write_markdown(lines, Path("results") / "rolling_update.md")


if __name__ == "__main__":
    main()
