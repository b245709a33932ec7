"""The Open Inference Protocol (KServe V2): the codec on bytes made here, then Triton's own client
against a real `bentoml serve`, answers compared with /predict's and with the model in-process."""

from __future__ import annotations

import json
import re

import bentoml
import httpx
import numpy as np
import pytest

from service.inference_protocol import (
    DIGIT,
    PROBABILITIES,
    UNSURE,
    infer_response,
    json_header_length,
    parse_infer_request,
)
from service.invalid_input import InvalidInput
from tests.conftest import TEST_SERVER_ENV, assert_answered_apart_and_batched

MAX_IMAGES = 8
CONCURRENT_REQUESTS = 200


def request_body(inputs: list[dict], binary: bytes = b"", **fields) -> tuple[bytes, int | None]:
    header = json.dumps({"inputs": inputs, **fields}).encode()
    return header + binary, (len(header) if binary else None)


def images_input(shape: list[int], datatype: str = "UINT8", **fields) -> dict:
    return {"name": "images", "shape": shape, "datatype": datatype, **fields}


# --- the codec ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [[2, 28, 28], [2, 784], [2, 28, 28, 1]])
def test_json_data_flat_or_nested_in_every_accepted_shape(shape):
    pixels = np.arange(2 * 784).reshape(shape) % 256
    for data in (pixels.ravel().tolist(), pixels.tolist()):
        body, length = request_body([images_input(shape, data=data)], id="r1")
        parsed = parse_infer_request(body, length, MAX_IMAGES)
        assert parsed.pixels.shape == (2, 28, 28) and parsed.pixels.dtype == np.float32
        np.testing.assert_array_equal(parsed.pixels.ravel(), pixels.ravel())
        assert parsed.request_id == "r1"
        assert parsed.outputs == {PROBABILITIES: False, DIGIT: False, UNSURE: False}


@pytest.mark.parametrize("datatype,dtype", [("UINT8", "<u1"), ("FP32", "<f4"), ("FP16", "<f2"), ("INT64", "<i8")])
def test_binary_inputs_of_each_numeric_type(datatype, dtype):
    pixels = (np.arange(3 * 784).reshape(3, 28, 28) % 256).astype(dtype)
    tensor = images_input([3, 28, 28], datatype, parameters={"binary_data_size": pixels.nbytes})
    body, length = request_body([tensor], pixels.tobytes())
    parsed = parse_infer_request(body, length, MAX_IMAGES)
    np.testing.assert_array_equal(parsed.pixels, pixels.astype(np.float32))


def test_outputs_honour_the_request_and_binary_output_follows_the_header():
    body, length = request_body(
        [images_input([2, 784], data=[0] * 1568)],
        outputs=[{"name": DIGIT, "parameters": {"binary_data": True}}, {"name": PROBABILITIES}],
        id="x",
    )
    parsed = parse_infer_request(body, length, MAX_IMAGES)
    assert list(parsed.outputs) == [DIGIT, PROBABILITIES]
    probabilities = np.array([[0.1] * 9 + [0.1], [0.0] * 3 + [1.0] + [0.0] * 6], dtype=np.float32)
    content, header_length = infer_response(parsed, probabilities, np.array([True, False]), "m", "v1")
    header = json.loads(content[:header_length])
    assert header["id"] == "x" and header["model_name"] == "m" and header["model_version"] == "v1"
    digit, probs = header["outputs"]
    assert digit == {"name": DIGIT, "datatype": "INT64", "shape": [2], "parameters": {"binary_data_size": 16}}
    assert probs["datatype"] == "FP32" and probs["shape"] == [2, 10] and len(probs["data"]) == 20
    assert np.frombuffer(content[header_length:], dtype="<i8").tolist() == [0, 3]


def test_unsure_output_is_a_bool_tensor_in_json_and_in_binary():
    probabilities = np.full((2, 10), 0.1, dtype=np.float32)
    for as_binary in (True, False):
        asked = [{"name": UNSURE, "parameters": {"binary_data": as_binary}}]
        parsed = parse_infer_request(
            *request_body([images_input([2, 784], data=[0] * 1568)], outputs=asked), MAX_IMAGES
        )
        content, header_length = infer_response(parsed, probabilities, np.array([True, False]), "m", "v1")
        (output,) = json.loads(content[:header_length] if as_binary else content)["outputs"]
        assert output["name"] == UNSURE and output["datatype"] == "BOOL" and output["shape"] == [2]
        if as_binary:
            assert content[header_length:] == b"\x01\x00" and output["parameters"] == {"binary_data_size": 2}
        else:
            assert output["data"] == [True, False]


@pytest.mark.parametrize(
    "inputs,binary,message",
    [
        ([images_input([1, 27, 28], data=[0] * 756)], b"", "must be [N, 28, 28]"),
        ([images_input([1, 784], "BYTES", data=["a"] * 784)], b"", "not a number type"),
        ([images_input([1, 784], "BOOL", data=[True] * 784)], b"", "not a number type"),
        ([images_input([1, 784], data=[0] * 783)], b"", "needs 784"),
        ([images_input([1, 784], data=[[0] * 28] * 27 + [[0] * 27])], b"", "rectangular"),
        ([images_input([1, 784], data=["0"] * 784)], b"", "must be numbers"),
        ([images_input([1, 784], "FP32", data=[float("nan")] + [0] * 783)], b"", "NaN"),
        ([images_input([1, 784], "INT16", data=[-1] + [0] * 783)], b"", "within 0-255"),
        ([images_input([1, 784], parameters={"binary_data_size": 700})], bytes(700), "take 784"),
        ([images_input([1, 784], parameters={"binary_data_size": 784})], bytes(780), "only 780"),
        ([images_input([1, 784], parameters={"binary_data_size": 784})], bytes(800), "account for 784"),
        ([images_input([1, 784], data=[0] * 784), images_input([1, 784], data=[0] * 784)], b"", "exactly one"),
        ([{**images_input([1, 784], data=[0] * 784), "name": "pixels"}], b"", "model's input is 'images'"),
        ([images_input([0, 784], data=[])], b"", "at least one"),
    ],
)
def test_bad_tensors_are_refused_with_a_reason(inputs, binary, message):
    body, length = request_body(inputs, binary)
    with pytest.raises(InvalidInput, match=re.escape(message)) as refused:
        parse_infer_request(body, length if binary else None, MAX_IMAGES)
    assert refused.value.status == 400


def test_too_many_images_is_413_before_any_data_is_read():
    body, length = request_body([images_input([MAX_IMAGES + 1, 784], data=[])])
    with pytest.raises(InvalidInput, match="limit of 8") as refused:
        parse_infer_request(body, length, MAX_IMAGES)
    assert refused.value.status == 413


def test_json_made_of_millions_of_arrays_is_refused_by_counting():
    body = b'{"inputs": [{"name": "images", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}"
    with pytest.raises(InvalidInput, match="arrays") as refused:
        parse_infer_request(body, None, MAX_IMAGES)
    assert refused.value.status == 413


@pytest.mark.parametrize("value", ["-1", "abc", "99999"])
def test_a_header_length_that_cannot_be_right_is_refused(value):
    with pytest.raises(InvalidInput, match="Inference-Header-Content-Length"):
        json_header_length(value, 100)


# --- Triton's client against a real server ---------------------------------------------------------


@pytest.fixture(scope="module")
def triton(server):
    tritonclient_http = pytest.importorskip("tritonclient.http")
    with tritonclient_http.InferenceServerClient(server.removeprefix("http://"), concurrency=8) as client:
        yield client


@pytest.fixture(scope="module")
def served(tiny_model):
    tag = bentoml.models.get(tiny_model).tag
    return tag.name, tag.version


def test_health_and_metadata(triton, served):
    name, version = served
    assert triton.is_server_live() and triton.is_server_ready()
    assert triton.is_model_ready(name) and triton.is_model_ready(name, version)
    assert "binary_tensor_data" in triton.get_server_metadata()["extensions"]
    metadata = triton.get_model_metadata(name)
    assert metadata["name"] == name and metadata["versions"] == [version]
    assert metadata["inputs"] == [{"name": "images", "datatype": "FP32", "shape": [-1, 28, 28]}]
    assert {output["name"]: output["shape"] for output in metadata["outputs"]} == {
        PROBABILITIES: [-1, 10],
        DIGIT: [-1],
        UNSURE: [-1],
    }


@pytest.mark.parametrize("count", [1, 64])
@pytest.mark.parametrize("binary", [False, True])
def test_infer_answers_equal_predicts(triton, served, server, reference, digit_images, count, binary):
    from tritonclient.http import InferInput, InferRequestedOutput

    name, version = served
    images = digit_images[:count]
    tensor = InferInput("images", list(images.shape), "UINT8")
    tensor.set_data_from_numpy(images, binary_data=binary)
    outputs = [InferRequestedOutput(output, binary_data=binary) for output in (PROBABILITIES, DIGIT)]
    result = triton.infer(name, [tensor], model_version=version, outputs=outputs, request_id=f"req-{count}")
    predicted = httpx.post(f"{server}/predict", json={"images": images.tolist()}, timeout=60).json()
    np.testing.assert_allclose(result.as_numpy(PROBABILITIES), [a["probabilities"] for a in predicted], atol=1e-6)
    assert result.as_numpy(DIGIT).tolist() == [a["digit"] for a in predicted]
    np.testing.assert_allclose(
        result.as_numpy(PROBABILITIES), reference.probabilities(images.astype(np.float32)), atol=1e-5
    )
    assert result.get_response()["id"] == f"req-{count}"


def test_only_the_requested_output_comes_back(triton, served, digit_images):
    from tritonclient.http import InferInput, InferRequestedOutput

    tensor = InferInput("images", [2, 784], "FP32")
    tensor.set_data_from_numpy(digit_images[:2].reshape(2, 784).astype(np.float32))
    result = triton.infer(served[0], [tensor], outputs=[InferRequestedOutput(DIGIT)])
    assert [output["name"] for output in result.get_response()["outputs"]] == [DIGIT]
    assert result.as_numpy(PROBABILITIES) is None


def test_concurrent_v2_requests_are_batched_and_each_gets_its_own_answer(server, served, reference, digit_images):
    name, _ = served
    images = digit_images[:CONCURRENT_REQUESTS]
    expected = reference.probabilities(images.astype(np.float32))

    def ask(index: int) -> list[float]:
        body = {
            "inputs": [
                {"name": "images", "shape": [1, 28, 28], "datatype": "UINT8", "data": images[index].ravel().tolist()}
            ]
        }
        response = httpx.post(f"{server}/v2/models/{name}/infer", json=body, timeout=60)
        response.raise_for_status()
        return response.json()["outputs"][0]["data"]

    assert_answered_apart_and_batched(server, ask, expected)


def test_errors_follow_the_protocol(server, served):
    name, version = served
    infer = f"{server}/v2/models/{name}/infer"
    bad_shape = {"inputs": [{"name": "images", "shape": [1, 5], "datatype": "UINT8", "data": [0] * 5}]}
    for url, method, body, status in [
        (infer, "POST", bad_shape, 400),
        (infer, "POST", {"inputs": []}, 400),
        (f"{server}/v2/models/other/infer", "POST", bad_shape, 404),
        (f"{server}/v2/models/{name}/versions/nope/infer", "POST", bad_shape, 404),
        (f"{server}/v2/models/{name}/versions/nope", "GET", None, 404),
        (f"{server}/v2/models/other/ready", "GET", None, 404),
    ]:
        response = httpx.request(method, url, json=body, timeout=30)
        assert response.status_code == status, (url, response.text)
        assert set(response.json()) == {"error"} and response.json()["error"], response.text
    too_many = int(TEST_SERVER_ENV["MNIST_MAX_IMAGES_PER_REQUEST"]) + 1
    response = httpx.post(
        infer, json={"inputs": [{"name": "images", "shape": [too_many, 784], "datatype": "UINT8", "data": []}]}
    )
    assert response.status_code == 413
    response = httpx.post(infer, content=b"\x1f\x8b", headers={"Content-Encoding": "gzip"})
    assert response.status_code == 415
    response = httpx.post(f"{server}/v2/models/{name}/versions/{version}/infer", content=b"{not json")
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
