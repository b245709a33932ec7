"""Hostile clients against a real `bentoml serve`: every refusal a clear 4xx, nothing held open.

Each test here failed on the service before the hardening work (issue #8): a 500 for a form sent to
a JSON route, a body limit checked on POST only, requests held by lying or silent clients, the
event loop blocked by millions of tiny JSON arrays, /metrics growing with every unknown path.
"""

from __future__ import annotations

import gzip
import io
import json
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import bentoml
import httpx
import pytest
from PIL import Image

from service.request_limits import routes_of
from tests.conftest import TEST_SERVER_ENV, start_server

pytestmark = pytest.mark.integration
BODY_TIMEOUT_S = float(TEST_SERVER_ENV["MNIST_BODY_TIMEOUT_S"])
HEADER_TIMEOUT_S = float(TEST_SERVER_ENV["MNIST_HEADER_TIMEOUT_S"])
BODY_LIMIT = int(TEST_SERVER_ENV["MNIST_MAX_BODY_BYTES"])
ONE_IMAGE = {"images": [[[0] * 28] * 28]}


def assert_error_body(response: httpx.Response, status: int, words: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str), body
    assert words.lower() in body["error"].lower()


def raw_exchange(url: str, data: bytes, wait_s: float) -> tuple[bytes, float]:
    """Send raw bytes, read until the server answers or closes; (answer, seconds)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as connection:
        connection.settimeout(wait_s)
        started = time.monotonic()
        connection.sendall(data)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks), time.monotonic() - started


@pytest.mark.parametrize("route", ["/predict", "/model_info"])
def test_forms_sent_to_json_routes_get_415(server: str, route: str) -> None:
    form = httpx.post(f"{server}{route}", files={"images": ("d.png", b"\x89PNG")}, timeout=30)
    assert_error_body(form, 415, "application/json")
    empty_form = httpx.post(
        f"{server}{route}", content=b"{}", headers={"content-type": "multipart/form-data"}, timeout=30
    )
    assert_error_body(empty_form, 415, "application/json")


@pytest.mark.parametrize("route", ["/predict", "/predict_image"])
def test_compressed_bodies_get_415_naming_the_encoding(server: str, route: str) -> None:
    content_type = "application/json" if route == "/predict" else "multipart/form-data; boundary=x"
    headers = {"content-type": content_type, "content-encoding": "gzip"}
    response = httpx.post(f"{server}{route}", content=gzip.compress(b"{}"), headers=headers, timeout=30)
    assert_error_body(response, 415, "Content-Encoding 'gzip'")


def test_npy_header_whose_shape_overflows_int64_gets_400(server: str) -> None:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
    header += " " * (63 - len(header) % 64) + "\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
    response = httpx.post(f"{server}/predict_npy", files={"array": ("a.npy", npy)}, timeout=30)
    assert_error_body(response, 400, "truncated")


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
@pytest.mark.parametrize("route", ["/model_info", "/docs.json", "/no/such/route"])
def test_body_limit_holds_for_every_method_and_route(server: str, method: str, route: str) -> None:
    declared = httpx.request(method, f"{server}{route}", content=b"0" * (BODY_LIMIT + 1), timeout=30)
    assert_error_body(declared, 413, "larger than the limit")
    chunked = httpx.request(method, f"{server}{route}", content=iter([b"0" * (1 << 20)] * 5), timeout=30)
    assert chunked.status_code in (413, 415), chunked.text  # 415 first where the route's content type is wrong
    assert set(chunked.json()) == {"error"}


def test_a_refusal_reaches_a_client_still_sending_its_body(server: str) -> None:
    """The 413 goes out while most of the body is still on its way; the rest must be read and
    dropped, not counted as the next request's headers (which reset the connection and lost the
    413 about one time in three before it was fixed). The connection then serves the next request."""
    chunk = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"
    oversized = (
        b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
        + chunk * (3 * BODY_LIMIT // len(chunk))
        + b"0\r\n\r\n"
    )
    body = json.dumps(ONE_IMAGE).encode()
    last = b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nconnection: close\r\n"
    last += f"content-length: {len(body)}\r\n\r\n".encode() + body
    for _ in range(15):
        answer, _ = raw_exchange(server, oversized + last, wait_s=30)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"HTTP/1.1 200" in answer, answer[-300:]


def test_body_shorter_than_declared_gets_408_within_the_deadline(server: str) -> None:
    request = b"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"
    answer, seconds = raw_exchange(server, request, wait_s=BODY_TIMEOUT_S + 10)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert seconds < BODY_TIMEOUT_S + 5


def test_half_sent_headers_get_408_and_silent_connections_are_closed(server: str) -> None:
    answer, seconds = raw_exchange(server, b"POST /predict HTTP/1.1\r\nhost: x\r\n", wait_s=HEADER_TIMEOUT_S + 10)
    assert answer.startswith(b"HTTP/1.1 408") and b'"error"' in answer, answer[:200]
    assert seconds < HEADER_TIMEOUT_S + 5
    answer, seconds = raw_exchange(server, b"", wait_s=HEADER_TIMEOUT_S + 10)
    assert answer == b"" and seconds < HEADER_TIMEOUT_S + 5


def test_unparsable_http_gets_the_error_body(server: str) -> None:
    answer, _ = raw_exchange(server, b"GET / HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n", wait_s=10)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert json.loads(body)["error"].startswith("invalid HTTP request")


@pytest.mark.parametrize("headers", [b"x-big: " + b"a" * 40_000 + b"\r\n", b"x: y\r\n" * 6_000])
def test_headers_over_the_size_limit_get_400_naming_it(server: str, headers: bytes) -> None:
    request = b"GET /model_info HTTP/1.1\r\nhost: x\r\n" + headers + b"\r\n"
    answer, _ = raw_exchange(server, request, wait_s=10)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert "headers over 16 KiB" in json.loads(body)["error"]


def test_headers_that_never_end_are_cut_off_at_the_size_limit(server: str) -> None:
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"GET /model_info HTTP/1.1\r\nhost: x\r\nx-big: ")
        try:
            for _ in range(40):  # 40 KB in pieces, never finishing the header
                connection.sendall(b"a" * 1000)
                time.sleep(0.005)
        except OSError:  # refused and closed while we were still sending
            pass
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400") and b"headers over 16 KiB" in answer, answer[:200]


def test_millions_of_tiny_json_arrays_are_refused_before_parsing(server: str) -> None:
    body = b'{"images": [' + b",".join([b"[0]"] * 1_000_000) + b"]}"
    response = httpx.post(f"{server}/predict", content=body, headers={"content-type": "application/json"}, timeout=30)
    assert_error_body(response, 413, "split the request")


def test_keras_layout_past_its_few_images_gets_413_saying_what_to_send(server: str) -> None:
    """An array per pixel costs 28x the parsing: 17 images so written are refused before parsing."""
    body = json.dumps({"images": [[[[0]] * 28] * 28] * 17}).encode()
    response = httpx.post(f"{server}/predict", content=body, headers={"content-type": "application/json"}, timeout=30)
    assert_error_body(response, 413, "drop the channel axis")


def test_deeply_nested_json_gets_400(server: str) -> None:
    body = b'{"images": ' + b"[" * 1500 + b"]" * 1500 + b"}"  # within the array budget, past the parser's depth
    response = httpx.post(f"{server}/predict", content=body, headers={"content-type": "application/json"}, timeout=30)
    assert_error_body(response, 400)


def test_images_over_the_request_pixel_budget_get_413(server: str) -> None:
    """Three images within the per-image limit (4 MP here) but over the request's 8 MP together."""
    buffer = io.BytesIO()
    Image.new("L", (1900, 1900), 255).save(buffer, format="PNG")
    files = [("images", (f"{i}.png", buffer.getvalue(), "image/png")) for i in range(3)]
    response = httpx.post(f"{server}/predict_images", files=files, timeout=30)
    assert_error_body(response, 413, "per request")


def test_unknown_paths_do_not_add_metric_series(server: str) -> None:
    before = httpx.get(f"{server}/metrics").text
    for index in range(200):
        assert_error_body(httpx.get(f"{server}/made/up/{index}"), 404)
    after = httpx.get(f"{server}/metrics").text
    assert "/made/up" not in after
    assert len(after) - len(before) < 500


@pytest.mark.parametrize(
    ("method", "route", "kwargs", "status"),
    [
        ("GET", "/predict", {}, 405),
        ("DELETE", "/model_info", {}, 405),
        ("POST", "/predict", {"json": {"pictures": []}}, 400),
        ("POST", "/predict", {"json": {"images": "seven"}}, 400),
        ("POST", "/predict", {"json": {"images": [[[0] * 28] * 27]}}, 400),
        ("POST", "/predict", {"json": [1, 2]}, 400),
    ],
)
def test_bentoml_and_starlette_refusals_use_the_error_contract(
    server: str, method: str, route: str, kwargs: dict, status: int
) -> None:
    assert_error_body(httpx.request(method, f"{server}{route}", timeout=30, **kwargs), status)


@pytest.mark.parametrize(
    ("route", "codes"),
    [
        ("/predict", {"400", "401", "408", "413", "415", "422", "429", "500", "503"}),
        ("/predict_npy", {"400", "401", "408", "413", "415", "422", "429", "500"}),
        ("/predict_image", {"400", "401", "408", "413", "415", "422", "429", "500"}),
        ("/predict_images", {"400", "401", "408", "413", "415", "422", "429", "500"}),
        ("/model_info", {"400", "401", "408", "413", "415", "429", "500"}),
    ],
)
def test_openapi_declares_the_error_codes_each_route_can_answer(server: str, route: str, codes: set[str]) -> None:
    spec = httpx.get(f"{server}/docs.json").json()
    assert spec["components"]["schemas"]["Error"]["required"] == ["error"]
    responses = spec["paths"][route]["post"]["responses"]
    assert set(responses) - {"200"} == codes
    for status in codes:
        assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    if route == "/predict":
        assert spec["paths"][route]["post"]["requestBody"]["required"] is True


@pytest.fixture(scope="module")
def guarded_server(tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with an access token and room for only two requests in progress."""
    log = tmp_path_factory.mktemp("guarded") / "serve.log"
    env = {"MNIST_ACCESS_TOKEN": "s3cret-token", "MNIST_MAX_CONCURRENCY": "2", "MNIST_BODY_TIMEOUT_S": "20"}
    with start_server(tiny_model, log, env) as (url, _):
        yield url


def test_access_token_guards_prediction_and_information_only(guarded_server: str) -> None:
    url = guarded_server
    assert_error_body(httpx.post(f"{url}/predict", json=ONE_IMAGE), 401, "access token")
    assert_error_body(httpx.get(f"{url}/model_info", headers={"authorization": "Bearer wrong"}), 401)
    assert httpx.post(f"{url}/predict", json=ONE_IMAGE, headers={"authorization": "Bearer s3cret-token"}).is_success
    for open_route in ("/readyz", "/livez", "/metrics", "/docs.json"):
        assert httpx.get(f"{url}{open_route}").status_code == 200, open_route


def hold_slow_bodies(url: str, count: int) -> list[socket.socket]:
    """`count` /predict requests whose headers arrived and whose body is still coming."""
    host, port = url.removeprefix("http://").split(":")
    held = []
    for _ in range(count):
        connection = socket.create_connection((host, int(port)))
        connection.sendall(
            b"POST /predict HTTP/1.1\r\nhost: x\r\nauthorization: Bearer s3cret-token\r\n"
            b"content-type: application/json\r\ncontent-length: 100\r\n\r\n{"
        )
        held.append(connection)
    time.sleep(0.5)
    return held


def test_slow_bodies_do_not_take_the_processing_slots(guarded_server: str) -> None:
    """Two processing slots, two clients dripping their bodies: others are still served."""
    held = hold_slow_bodies(guarded_server, 2)
    try:
        answer = httpx.post(
            f"{guarded_server}/predict", json=ONE_IMAGE, headers={"authorization": "Bearer s3cret-token"}
        )
        assert answer.status_code == 200, answer.text
    finally:
        for connection in held:
            connection.close()


def test_past_the_limit_of_bodies_on_their_way_429_with_retry_after(guarded_server: str) -> None:
    held = hold_slow_bodies(guarded_server, 4 * 2)  # RECEIVING_PER_SLOT x MNIST_MAX_CONCURRENCY
    try:
        refused = httpx.post(
            f"{guarded_server}/predict", json=ONE_IMAGE, headers={"authorization": "Bearer s3cret-token"}
        )
        assert_error_body(refused, 429, "retry")
        assert refused.headers["retry-after"] == "1"
        assert httpx.get(f"{guarded_server}/readyz").status_code == 200
    finally:
        for connection in held:
            connection.close()


@bentoml.service
class FileAndNote:
    """An API the upload guard cannot check: a file and a text field in one form."""

    @bentoml.api
    def describe(self, image: Path, note: str) -> str:
        return note


def test_upload_guard_refuses_to_start_on_an_api_it_cannot_check() -> None:
    with pytest.raises(TypeError, match="exactly one file field"):
        routes_of(FileAndNote)
