"""Peer benchmark: our service beside the serving frameworks users would pick instead, each
serving the same stored model with the same runtime (OpenVINO, our loader), in one run.

    python -m loadtest.peers [--seconds 15] [--only mosec]

Targets: ours (BentoML, adaptive batching), BentoML's no-op endpoint (the framework's ceiling),
LitServe, mosec, Ray Serve, MLServer and KServe's model server, each with its own dynamic
batching where it has one (up to our batch size, 5 ms wait). The same locust users drive all:
one image per request as JSON at 1, 8, 32 and 64 clients (our `/predict` form where the framework
takes any JSON, the Open Inference Protocol's JSON where it speaks only that), then 64 images per
request in each framework's compact form. Writes results/peers.md, .json and .png.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import bentoml

from loadtest.benchmark import BATCH, CONCURRENCY, OURS, TARGETS, Target, format_row, measure
from loadtest.locust_runner import require_digits
from loadtest.peers import shared
from loadtest.peers.environments import PeerEnvironment
from local_servers import PROJECT_ROOT, bentoml_command
from results_output import machine_description, pyplot, save_figure, write_markdown
from service.settings import ServiceSettings

BATCH_WAIT_MS = 5
COMPACT_CLIENTS = (1, 8, 32)
PNG_CLIENTS = (32,)
TUNED = {"MNIST_WORKERS": "2", "MNIST_ACCESS_LOG": "false"}  # what BentoML's configuration can give on two cores


def peer_targets(model_path: str, only: set[str]) -> dict[str, Target]:
    """name -> target: each peer's server in its own environment, and the users that suit its forms."""
    env = {
        "PYTHONPATH": str(PROJECT_ROOT),
        shared.MODEL_PATH_ENV: model_path,
        shared.MAX_BATCH_ENV: str(ServiceSettings().max_batch_size),
        shared.BATCH_WAIT_MS_ENV: str(BATCH_WAIT_MS),
    }
    # name: environment, module and arguments, ready path, one-image user, compact user. uvloop 0.22 and
    # later stop MLServer 1.7.1's inference workers at start ("no current event loop"): 0.21 is pinned.
    peers = {
        "LitServe": (
            PeerEnvironment("litserve", ("litserve==0.2.19", "python-multipart==0.0.34")),
            ["{port}"],
            "/health",
            "SingleArrayUser",
            "NpyBatchUser",
        ),
        "mosec": (
            PeerEnvironment("mosec", ("mosec==0.9.8",)),
            ["--address", "127.0.0.1", "--port", "{port}", "--log-level", "warning"],
            "/",
            "SingleArrayUser",
            "NpyBodyBatchUser",
        ),
        "Ray Serve": (
            PeerEnvironment("ray", ("ray[serve]==2.60.0",)),
            ["{port}"],
            "/ready",
            "SingleArrayUser",
            "NpyBodyBatchUser",
        ),
        "MLServer": (
            PeerEnvironment("mlserver", ("mlserver==1.7.1", "uvloop==0.21.0")),
            ["{port}"],
            "/v2/health/ready",
            "V2JsonUser",
            "V2JsonBatchUser",
        ),
        "KServe": (
            PeerEnvironment("kserve", ("kserve==0.21.0",)),
            ["--http_port", "{port}"],
            "/v2/health/ready",
            "V2JsonUser",
            "V2BinaryBatchUser",
        ),
    }
    targets = {}
    for name, (environment, arguments, ready, single, compact) in peers.items():
        if only and environment.folder not in only:
            continue
        version = environment.packages[0].split("==")[1]
        module = f"loadtest.peers.{environment.folder}_app"
        server = ([str(environment.ensure()), "-m", module, *arguments], ready, env)
        targets[f"{name} {version}"] = Target(server, single)
        targets[f"{name} {version}, compact, {BATCH} per request"] = Target(
            server, compact, BATCH, clients=COMPACT_CLIENTS
        )
    return targets


def our_targets(tag: str) -> dict[str, Target]:
    ours = (bentoml_command(), "/readyz", {**OURS, "MNIST_MODEL_TAG": tag})
    return {
        "no-op BentoML endpoint": TARGETS["no-op BentoML endpoint"],
        "ours (BentoML)": Target(ours, "SingleArrayUser"),
        "ours (BentoML), V2 JSON": Target(ours, "V2JsonUser"),
        f"ours (BentoML), compact (.npy), {BATCH} per request": Target(
            ours, "NpyBatchUser", BATCH, clients=COMPACT_CLIENTS
        ),
        "ours (BentoML), PNG files": Target(ours, "PngUser", clients=PNG_CLIENTS),
        "ours (BentoML), 2 workers, access log off": Target(
            (ours[0], ours[1], {**ours[2], **TUNED}), "SingleArrayUser"
        ),
    }


def best(rows: list[dict], target: str, clients: int | None = None) -> dict:
    """The target's row at `clients`, or its row with the most images/s."""
    mine = [row for row in rows if row["target"] == target and clients in (None, row["clients"])]
    return max(mine, key=lambda row: row["requests_per_s"] * row["images_per_request"])


def ratios(rows: list[dict], clients: int = 32) -> list[str]:
    """The figures the issue asks for, as ratios of ours to each peer, measured in this run."""
    ours, ours_v2 = best(rows, "ours (BentoML)", clients), best(rows, "ours (BentoML), V2 JSON", clients)
    compact = best(rows, f"ours (BentoML), compact (.npy), {BATCH} per request")
    tuned = best(rows, "ours (BentoML), 2 workers, access log off", clients)
    lines = [
        f"One image per request at {clients} clients, ours against each peer (requests/s; >1 means ours serves more):",
        "",
    ]
    for target in sorted({row["target"] for row in rows if not row["target"].startswith(("ours", "no-op"))}):
        peer = best(rows, target, None if "compact" in target else clients)
        if "compact" in target:
            lines.append(
                f"- {target}: best {peer['requests_per_s'] * BATCH:,.0f} images/s; ours (.npy) best "
                f"{compact['requests_per_s'] * BATCH:,.0f}: {compact['requests_per_s'] / peer['requests_per_s']:.2f}x"
            )
            continue
        v2 = (
            " (Open Inference Protocol JSON; ours in the same form)"
            if "MLServer" in target or "KServe" in target
            else ""
        )
        mine = ours_v2 if v2 else ours
        lines.append(
            f"- {target}{v2}: {peer['requests_per_s']:,.0f} req/s; ours {mine['requests_per_s']:,.0f}: "
            f"{mine['requests_per_s'] / peer['requests_per_s']:.2f}x; ours with 2 workers and no access log "
            f"(/predict JSON) {tuned['requests_per_s']:,.0f}: {tuned['requests_per_s'] / peer['requests_per_s']:.2f}x"
        )
    noop, alone = best(rows, "no-op BentoML endpoint", 1), best(rows, "ours (BentoML)", 1)
    png = best(rows, "ours (BentoML), PNG files", clients)
    lines += [
        "",
        f"One client, one image per request (locust, whole milliseconds): ours p50 {alone['p50_ms']:.0f} ms, "
        f"the no-op endpoint's {noop['p50_ms']:.0f} ms.",
        f"PNG files, one per request at {clients} clients: {png['requests_per_s']:,.0f} images/s.",
    ]
    return lines


def plot(rows: list[dict], path: Path) -> None:
    plt = pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    singles = [t for t in dict.fromkeys(row["target"] for row in rows) if "compact" not in t and "PNG" not in t]
    for target in singles:
        points = [row for row in rows if row["target"] == target]
        style = "o-" if target.startswith("ours") else "o--"
        left.plot([r["clients"] for r in points], [r["requests_per_s"] for r in points], style, label=target)
    left.set(xscale="log", xlabel="concurrent clients", ylabel="requests/s", title="one image per request (JSON)")
    left.set_xticks(CONCURRENCY, [str(c) for c in CONCURRENCY])
    left.legend(fontsize=7)
    compact = [t for t in dict.fromkeys(row["target"] for row in rows) if "compact" in t]
    rates = [best(rows, t)["requests_per_s"] * BATCH for t in compact]
    right.barh([t.replace(f", {BATCH} per request", "") for t in compact], rates, color="tab:green")
    right.set(xlabel="images/s (best over 1, 8, 32 clients)", title=f"{BATCH} images per request, compact form")
    for axis in (left, right):
        axis.grid(alpha=0.3)
    save_figure(figure, path)


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--seconds", type=int, default=15, help="per measurement point (15)")
    cli.add_argument("--only", nargs="*", default=[], help="peer environments to run (default: all), e.g. mosec ray")
    cli.add_argument("--results", default="results", help="output folder (results)")
    args = cli.parse_args()
    folder = Path(args.results)
    folder.mkdir(parents=True, exist_ok=True)
    require_digits()
    stored = bentoml.models.get(ServiceSettings().model_tag)
    targets = our_targets(str(stored.tag)) | peer_targets(stored.path, set(args.only))
    header = [
        f"Measured {time.strftime('%Y-%m-%d')} on {machine_description()}; BentoML {bentoml.__version__}; model "
        f"{stored.tag}, served by every target with OpenVINO through `service.model_runtime`; {args.seconds} s "
        f"per point; load from locust (FastHttpUser) on the same machine; batching up to "
        f"{ServiceSettings().max_batch_size} requests, peers waiting {BATCH_WAIT_MS} ms for a batch to fill.",
        "",
        "| target | clients | requests/s | images/s | p50 ms | p95 ms | p99 ms | failures | locust CPU (cores) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    print("\n".join(header), flush=True)
    rows = measure(targets, args.seconds, folder)
    (folder / "peers.json").write_text(json.dumps(rows, indent=2) + "\n")
    plot(rows, folder / "peers.png")
    write_markdown(header + [format_row(row) for row in rows] + [""] + ratios(rows), folder / "peers.md")


if __name__ == "__main__":
    main()
