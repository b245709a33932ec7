"""Serving benchmark: our service beside the alternatives, on this machine, in one run.

    python -m loadtest.benchmark --seconds 15

One image per request at 1, 8, 32 and 64 concurrent clients against: a no-op BentoML endpoint
taking the same JSON (the framework's ceiling), our service with adaptive batching and without,
and FastAPI calling Keras's `model.predict` per request; then our service's three input forms
(/predict JSON, /predict_npy, the Open Inference Protocol with binary tensors) at 1 and 64 images
per request. Writes results/benchmark.md, results/benchmark.json and results/benchmark.png.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import bentoml

from loadtest.locust_runner import require_digits, run_locust
from local_servers import bentoml_command, serving, uvicorn_command
from results_output import machine_description, pyplot, save_figure, write_markdown

CONCURRENCY = (1, 8, 32, 64)
BATCH = 64  # images per request in the batch rows
# admit every client of the largest run: the default limit (32) would answer the 64-client runs' excess with 429
OURS = {"MNIST_MAX_CONCURRENCY": str(max(CONCURRENCY))}
OURS_SERVER = (bentoml_command(), "/readyz", OURS)


@dataclass(frozen=True)
class Target:
    server: tuple[list[str], str, dict[str, str]]  # command, ready path, environment
    user_class: str  # in loadtest/locustfile.py
    images_per_request: int = 1
    locust_flags: tuple[str, ...] = ()
    clients: tuple[int, ...] = CONCURRENCY


TARGETS = {
    "no-op BentoML endpoint": Target(
        (bentoml_command("loadtest.noop_service:NoOp"), "/readyz", {}), "SingleArrayUser", 1, ("--no-check-digits",)
    ),
    "ours, adaptive batching": Target(OURS_SERVER, "SingleArrayUser"),
    "ours, batching off": Target((*OURS_SERVER[:2], {**OURS, "MNIST_ADAPTIVE_BATCHING": "false"}), "SingleArrayUser"),
    "FastAPI + model.predict": Target(
        (uvicorn_command("loadtest.fastapi_baseline:app"), "/readyz", {}), "SingleArrayUser"
    ),
    "ours, .npy, 1 per request": Target(OURS_SERVER, "NpySingleUser"),
    "ours, V2 binary, 1 per request": Target(OURS_SERVER, "V2BinaryUser"),
    f"ours, JSON, {BATCH} per request": Target(OURS_SERVER, "JsonBatchUser", BATCH),
    f"ours, .npy, {BATCH} per request": Target(OURS_SERVER, "NpyBatchUser", BATCH),
    f"ours, V2 binary, {BATCH} per request": Target(OURS_SERVER, "V2BinaryBatchUser", BATCH),
}


def measure(targets: dict[str, Target], seconds: int, folder: Path) -> list[dict]:
    """Each target on a fresh server, at each of its client counts; prints rows as they come."""
    rows = []
    for name, target in targets.items():
        with serving(*target.server, log=folder / "server.log") as (url, _):
            for clients in target.clients:
                slug = f"{name.split(',')[0].split()[0]}-{target.user_class}-{clients}".lower()
                raw = folder / "raw" / slug
                result = run_locust(url, target.user_class, clients, seconds, raw, list(target.locust_flags))
                images = target.images_per_request
                rows.append({"target": name, "clients": clients, "images_per_request": images, **asdict(result)})
                print(format_row(rows[-1]), flush=True)
    return rows


def format_row(row: dict) -> str:
    return (
        f"| {row['target']} | {row['clients']} | {row['requests_per_s']:.0f} | "
        f"{row['requests_per_s'] * row['images_per_request']:.0f} | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} | "
        f"{row['p99_ms']:.0f} | {row['failures']} | {row['generator_cpu']:.2f} |"
    )


def in_process_images_per_second() -> float:
    """The serving path's own throughput at batch 256, measured here before the HTTP runs."""
    import numpy as np

    import model_contract as contract
    from loadtest.bench_inprocess import THROUGHPUT_BATCH, images_per_second
    from service.model_runtime import load_classifier
    from service.settings import ServiceSettings

    tag = ServiceSettings().model_tag
    classifier = load_classifier(bentoml.models.get(tag).path)
    pixels = np.random.default_rng(0).integers(0, 256, (THROUGHPUT_BATCH, *contract.INPUT_SHAPE)).astype(np.float32)
    return images_per_second(classifier.probabilities, pixels)


def ratios(rows: list[dict], in_process: float, clients: int = 32) -> list[str]:
    at = {row["target"]: row["requests_per_s"] for row in rows if row["clients"] == clients}
    ours = at["ours, adaptive batching"]
    npy = max(row["requests_per_s"] * BATCH for row in rows if row["target"] == f"ours, .npy, {BATCH} per request")
    v2 = {images: at[f"ours, V2 binary, {images} per request"] for images in (1, BATCH)}
    return [
        f"At {clients} clients, one image per request, ours with adaptive batching serves "
        f"{ours / at['no-op BentoML endpoint']:.2f}x the no-op endpoint's requests/s, "
        f"{ours / at['ours, batching off']:.2f}x ours with batching off, and "
        f"{ours / at['FastAPI + model.predict']:.1f}x FastAPI + model.predict.",
        "",
        f"Batches of {BATCH} as .npy: best {npy:,.0f} images/s over HTTP, "
        f"{npy / in_process:.2f}x the serving path's in-process {in_process:,.0f} images/s at batch 256 "
        "(measured in the same run).",
        "",
        f"Open Inference Protocol with binary tensors at {clients} clients: one image per request "
        f"{v2[1] / ours:.2f}x /predict's JSON requests/s and {v2[1] / at['ours, .npy, 1 per request']:.2f}x .npy's; "
        f"{BATCH} per request {v2[BATCH] / at[f'ours, JSON, {BATCH} per request']:.2f}x JSON's and "
        f"{v2[BATCH] / at[f'ours, .npy, {BATCH} per request']:.2f}x .npy's.",
    ]


def plot(rows: list[dict], path: Path) -> None:
    plt = pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for target in TARGETS:
        points = [row for row in rows if row["target"] == target]
        clients = [row["clients"] for row in points]
        left.plot(clients, [r["requests_per_s"] * r["images_per_request"] for r in points], "o-", label=target)
        right.plot(clients, [r["p99_ms"] for r in points], "o-", label=target)
    left.set(xscale="log", yscale="log", xlabel="concurrent clients", ylabel="images/s", title="throughput")
    right.set(xscale="log", yscale="log", xlabel="concurrent clients", ylabel="ms", title="p99 latency")
    for axis in (left, right):
        axis.set_xticks(CONCURRENCY, [str(c) for c in CONCURRENCY])
        axis.grid(alpha=0.3)
    left.legend(fontsize=7)
    save_figure(figure, path)


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--seconds", type=int, default=15, help="per measurement point (15)")
    cli.add_argument("--results", default="results", help="output folder (results)")
    args = cli.parse_args()
    folder = Path(args.results)
    folder.mkdir(parents=True, exist_ok=True)
    header = [
        f"Measured {time.strftime('%Y-%m-%d')} on {machine_description()}; Python "
        f"{platform.python_version()}, OpenVINO {importlib.metadata.version('openvino')}, BentoML "
        f"{bentoml.__version__}; {args.seconds} s per point; load from locust (FastHttpUser) on the same machine.",
        "",
        "| target | clients | requests/s | images/s | p50 ms | p95 ms | p99 ms | failures | locust CPU (cores) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    require_digits()  # before a minute of in-process measurement, not after
    in_process = in_process_images_per_second()
    print(f"in-process serving path, batch 256: {in_process:,.0f} images/s", flush=True)
    print("\n".join(header), flush=True)
    rows = measure(TARGETS, args.seconds, folder)
    lines = header + [format_row(row) for row in rows] + [""] + ratios(rows, in_process)
    (folder / "benchmark.json").write_text(json.dumps(rows, indent=2) + "\n")
    plot(rows, folder / "benchmark.png")
    write_markdown(lines, folder / "benchmark.md")
    print(f"wrote {folder / 'benchmark.json'} and the chart {folder / 'benchmark.png'}")


if __name__ == "__main__":
    main()
