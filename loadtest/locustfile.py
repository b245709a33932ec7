"""Locust users for the real traffic mixes. Payloads are real MNIST test digits, encoded once.

    locust -f loadtest/locustfile.py --host http://127.0.0.1:3000 SingleArrayUser
    python -m loadtest.run single --users 32 --seconds 60          # headless, with checks

Every answer is checked: status, shape, and the digit against the label. A wrong-answer rate above
--max-wrong-rate turns answers into failures in locust's statistics; at the end, any failure or a
p95 above --max-p95-ms makes locust exit non-zero.
"""

from __future__ import annotations

import itertools
import random
import uuid

from locust import FastHttpUser, constant, constant_throughput, events, task
from locust.env import Environment

from loadtest.answer_checks import Traffic, check_answers, check_v2_answers
from loadtest.payloads import build_payloads, load_digits
from service.settings import ServiceSettings

BATCH_SIZES = (8, 32, 64)
NPY_BATCH = 64
JSON = {"Content-Type": "application/json"}
OCTETS = {"Content-Type": "application/octet-stream"}
V2_INFER = f"/v2/models/{ServiceSettings().model_tag.split(':')[0]}/infer"


@events.init_command_line_parser.add_listener
def add_options(parser) -> None:
    parser.add_argument("--mnist-data", default=None, help="mnist.npz for the payloads ($MNIST_DATA)")
    parser.add_argument("--max-wrong-rate", type=float, default=0.05, help="wrong digits that count as failures")
    parser.add_argument("--max-p95-ms", type=float, default=0, help="exit non-zero above this p95 (0: off)")
    parser.add_argument("--no-check-digits", action="store_true", help="skip the digit check (no-op targets)")
    parser.add_argument("--user-rate", type=float, default=0, help="requests/s per user (0: as fast as answered)")
    parser.add_argument("--max-requests", type=int, default=0, help="stop after this many requests (0: time only)")


@events.init.add_listener
def load_payloads(environment: Environment, **_) -> None:
    options = environment.parsed_options
    Traffic.environment = environment
    Traffic.check_digits = not getattr(options, "no_check_digits", False)
    Traffic.max_wrong_rate = getattr(options, "max_wrong_rate", 0.05)
    if getattr(options, "user_rate", 0):
        DigitUser.wait_time = constant_throughput(options.user_rate)
    if Traffic.payloads is None:
        digits = load_digits(getattr(options, "mnist_data", None))
        Traffic.payloads = build_payloads(*digits, batch_sizes=(1, *BATCH_SIZES))


@events.request.add_listener
def stop_at_request_limit(**_) -> None:
    """The count bound beside locust's time bound (-t): stop the run once the limit is reached."""
    environment = Traffic.environment
    limit = getattr(environment.parsed_options, "max_requests", 0) if environment else 0
    if limit and environment.stats.total.num_requests >= limit and not Traffic.stopping:
        Traffic.stopping = True
        print(f"request limit of {limit} reached: stopping")
        environment.runner.quit()


@events.quitting.add_listener
def judge(environment: Environment, **_) -> None:
    """Non-zero exit on any failure, or on a p95 above the limit: the load test's verdict."""
    total = environment.stats.total
    limit = getattr(environment.parsed_options, "max_p95_ms", 0)
    p95 = total.get_response_time_percentile(0.95) or 0
    if total.num_failures:
        print(f"FAIL: {total.num_failures} of {total.num_requests} requests failed")
        environment.process_exit_code = 1
    elif limit and p95 > limit:
        print(f"FAIL: p95 latency {p95:.0f} ms is above the limit of {limit:.0f} ms")
        environment.process_exit_code = 1
    else:
        print(f"PASS: {total.num_requests} requests, no failures, p95 {p95:.0f} ms")


def multipart(field: str, filename: str, content: bytes, content_type: str) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body with one file, built once so requests only send bytes."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), {
        "Content-Type": f"multipart/form-data; boundary={boundary}"
    }


class DigitUser(FastHttpUser):
    """Common ground: a cursor over the payloads, and the request helpers."""

    abstract = True
    wait_time = constant(0)  # closed loop: each user sends its next request as soon as it has an answer

    def on_start(self) -> None:
        self.cursor = itertools.count(random.randrange(1000))
        payloads = Traffic.payloads
        self.png_bodies = [multipart("image", "digit.png", body, "image/png") for body in payloads.png]
        self.npy_bodies = {
            size: [
                multipart("array", "batch.npy", body, "application/octet-stream") for body in payloads.batch_npy[size]
            ]
            for size in (1, NPY_BATCH)
        }

    def _next(self, count: int) -> int:
        return next(self.cursor) % count

    def _send(self, path: str, name: str, body: bytes, headers: dict[str, str], labels, check=check_answers) -> None:
        """Post one pre-encoded body and judge its answer against the labels of its images."""
        with self.client.post(path, data=body, headers=headers, catch_response=True, name=name) as response:
            check(response, labels)

    def send_single_array(self) -> None:
        index = self._next(len(Traffic.payloads.single_json))
        body, label = Traffic.payloads.single_json[index], Traffic.payloads.labels[index]
        self._send("/predict", "/predict [1]", body, JSON, [label])

    def send_small_batch(self) -> None:
        self.send_json_batch(random.choice(BATCH_SIZES))

    def send_png(self) -> None:
        index = self._next(len(self.png_bodies))
        body, headers = self.png_bodies[index]
        self._send("/predict_image", "/predict_image", body, headers, [Traffic.payloads.labels[index]])

    def send_npy(self, size: int = NPY_BATCH) -> None:
        index = self._next(len(self.npy_bodies[size]))
        body, headers = self.npy_bodies[size][index]
        self._send("/predict_npy", f"/predict_npy [{size}]", body, headers, Traffic.payloads.batch_labels[size][index])

    def send_json_batch(self, size: int) -> None:
        index = self._next(len(Traffic.payloads.batch_json[size]))
        body, labels = Traffic.payloads.batch_json[size][index], Traffic.payloads.batch_labels[size][index]
        self._send("/predict", f"/predict [{size}]", body, JSON, labels)

    def send_npy_body(self, size: int) -> None:
        """The .npy file as the whole body: the compact form of peers whose native input is bytes."""
        index = self._next(len(Traffic.payloads.batch_npy[size]))
        body, labels = Traffic.payloads.batch_npy[size][index], Traffic.payloads.batch_labels[size][index]
        self._send("/predict_npy", f"/predict_npy [body, {size}]", body, OCTETS, labels)

    def send_v2_json(self, size: int) -> None:
        index = self._next(len(Traffic.payloads.v2_json[size]))
        body, labels = Traffic.payloads.v2_json[size][index], Traffic.payloads.batch_labels[size][index]
        self._send(V2_INFER, f"{V2_INFER} [JSON, {size}]", body, JSON, labels, check_v2_answers)

    def send_v2_binary(self, size: int) -> None:
        index = self._next(len(Traffic.payloads.v2_binary[size]))
        (body, header_length), labels = (
            Traffic.payloads.v2_binary[size][index],
            Traffic.payloads.batch_labels[size][index],
        )
        headers = {**OCTETS, "Inference-Header-Content-Length": str(header_length)}
        self._send(V2_INFER, f"{V2_INFER} [binary, {size}]", body, headers, labels, check_v2_answers)


class SingleArrayUser(DigitUser):
    """One 28x28 array per request to /predict: the traffic adaptive batching is for."""

    @task
    def single(self) -> None:
        self.send_single_array()


class SmallBatchUser(DigitUser):
    """Batches of 8, 32 or 64 arrays per request to /predict."""

    @task
    def batch(self) -> None:
        self.send_small_batch()


class PngUser(DigitUser):
    """One PNG upload per request to /predict_image."""

    @task
    def png(self) -> None:
        self.send_png()


class FixedFormUser(DigitUser):
    """Every request in one form (`send`, a DigitUser method) with `images` images."""

    abstract = True
    send = "send_npy"
    images = 1

    @task
    def request(self) -> None:
        getattr(self, self.send)(self.images)


class NpyBatchUser(FixedFormUser):
    """Batches of 64 as .npy uploads to /predict_npy: the most efficient form for bulk work."""

    send, images = "send_npy", NPY_BATCH


class NpySingleUser(FixedFormUser):
    """One image per .npy upload to /predict_npy."""

    send, images = "send_npy", 1


class JsonBatchUser(FixedFormUser):
    """Batches of 64 arrays per JSON request to /predict."""

    send, images = "send_json_batch", NPY_BATCH


class V2BinaryUser(FixedFormUser):
    """One image per Open Inference Protocol request, tensors as binary data."""

    send, images = "send_v2_binary", 1


class V2BinaryBatchUser(FixedFormUser):
    """Batches of 64 per Open Inference Protocol request, tensors as binary data."""

    send, images = "send_v2_binary", NPY_BATCH


class NpyBodyBatchUser(FixedFormUser):
    """Batches of 64 as a .npy request body to /predict_npy (peers whose native input is bytes)."""

    send, images = "send_npy_body", NPY_BATCH


class V2JsonUser(FixedFormUser):
    """One image per Open Inference Protocol request, all JSON."""

    send, images = "send_v2_json", 1


class V2JsonBatchUser(FixedFormUser):
    """Batches of 64 per Open Inference Protocol request, all JSON."""

    send, images = "send_v2_json", NPY_BATCH


class MixedUser(DigitUser):
    """Most requests single arrays, some small batches, some PNG uploads."""

    @task(6)
    def single(self) -> None:
        self.send_single_array()

    @task(2)
    def batch(self) -> None:
        self.send_small_batch()

    @task(2)
    def png(self) -> None:
        self.send_png()
