"""The Open Inference Protocol's (KServe V2) inference request and response, for this model.

Pure functions on bytes, so every rule is testable without a server. Covers the JSON form and
Triton's binary tensor data extension: `Inference-Header-Content-Length` says how many bytes of
the body are the JSON header; inputs with a `binary_data_size` parameter take their bytes from
what follows, in order; outputs asked for with `binary_data` (or the request's
`binary_data_output`) are sent after the JSON header the same way. Tensors in binary form are
little-endian, row-major, with no padding.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from model_contract import IMAGE_SIDE, NUM_CLASSES
from service.invalid_input import InvalidInput
from service.pixel_arrays import IMAGE_SHAPES, validate_pixel_batch
from service.request_limits import json_size_refusal

INPUT_NAME = "images"
PROBABILITIES = "probabilities"
DIGIT = "digit"
UNSURE = "unsure"  # true where the answer is below the model's confidence threshold (see /predict's schema)
OUTPUTS = {  # name -> (datatype, NumPy dtype, shape after the batch dimension)
    PROBABILITIES: ("FP32", "<f4", [NUM_CLASSES]),
    DIGIT: ("INT64", "<i8", []),
    UNSURE: ("BOOL", "?", []),
}
DATATYPES = {  # the numeric tensor types; BOOL and BYTES are not pixels
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
HEADER_LENGTH = "inference-header-content-length"


@dataclass(frozen=True)
class InferRequest:
    pixels: np.ndarray  # (N, 28, 28) float32, checked like every other route's pixels
    request_id: str | None
    outputs: dict[str, bool]  # requested output -> sent as binary data


def model_metadata(name: str, platform: str, versions: list[str]) -> dict:
    """What the model takes and gives, with -1 for the batch dimension."""
    return {
        "name": name,
        "versions": versions,
        "platform": platform,
        "inputs": [{"name": INPUT_NAME, "datatype": "FP32", "shape": [-1, IMAGE_SIDE, IMAGE_SIDE]}],
        "outputs": [
            {"name": name, "datatype": datatype, "shape": [-1, *shape]}
            for name, (datatype, _, shape) in OUTPUTS.items()
        ],
    }


def json_header_length(value: str | None, body_length: int) -> int | None:
    """The `Inference-Header-Content-Length` header as a number of bytes, or None when absent."""
    if value is None:
        return None
    if not value.strip().isdigit() or int(value) > body_length:
        raise InvalidInput(
            f"Inference-Header-Content-Length is '{value}'; it must be a whole number of bytes no larger "
            f"than the body ({body_length:,} bytes)"
        )
    return int(value)


def parse_infer_request(body: bytes, header_length: int | None, max_images: int) -> InferRequest:
    """An inference request's JSON header and binary data -> the pixels and what to answer."""
    header, binary = (body, b"") if header_length is None else (body[:header_length], body[header_length:])
    too_large = json_size_refusal(header, max_images)
    if too_large is not None:
        raise InvalidInput(too_large, status=413)
    try:
        request = json.loads(header)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(f"the inference request is not valid JSON ({error})") from error
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise InvalidInput("an inference request is a JSON object with a list of 'inputs'")
    if len(request["inputs"]) != 1 or not isinstance(request["inputs"][0], dict):
        raise InvalidInput(f"the model takes exactly one input, '{INPUT_NAME}'; got {len(request['inputs'])}")
    request_id = request.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInput("the request 'id' must be a string")
    tensor, used = _input_tensor(request["inputs"][0], binary, max_images)
    if used != len(binary):
        raise InvalidInput(
            f"the body holds {len(binary):,} bytes of binary data after the JSON header, but the inputs' "
            f"binary_data_size parameters account for {used:,}"
        )
    pixels = validate_pixel_batch(tensor.reshape(-1, IMAGE_SIDE, IMAGE_SIDE), max_images)
    return InferRequest(pixels, request_id, _requested_outputs(request))


def _input_tensor(tensor: dict, binary: bytes, max_images: int) -> tuple[np.ndarray, int]:
    """The input's values in its declared shape, and how many binary bytes it used."""
    name, datatype, shape = tensor.get("name"), tensor.get("datatype"), tensor.get("shape")
    if name != INPUT_NAME:
        raise InvalidInput(f"unexpected input '{name}'; the model's input is '{INPUT_NAME}'")
    if datatype not in DATATYPES:
        raise InvalidInput(f"input datatype '{datatype}' is not a number type; use one of {', '.join(DATATYPES)}")
    if not isinstance(shape, list) or not all(isinstance(size, int) and size >= 0 for size in shape):
        raise InvalidInput(f"input shape {shape!r} must be a list of non-negative whole numbers")
    if len(shape) < 2 or tuple(shape[1:]) not in IMAGE_SHAPES:
        raise InvalidInput(f"input shape {shape} must be [N, 28, 28], [N, 784] or [N, 28, 28, 1]")
    if shape[0] == 0:
        raise InvalidInput("input shape has 0 images: send at least one")
    if shape[0] > max_images:
        raise InvalidInput(f"{shape[0]} images in one request, more than the limit of {max_images}", status=413)
    count, dtype = math.prod(shape), np.dtype(DATATYPES[datatype])
    binary_size = (tensor.get("parameters") or {}).get("binary_data_size")
    if binary_size is None:
        return _json_values(tensor.get("data"), count, shape), 0
    if binary_size != count * dtype.itemsize:
        raise InvalidInput(
            f"binary_data_size is {binary_size!r} bytes, but {count:,} {datatype} values of shape {shape} take "
            f"{count * dtype.itemsize:,}"
        )
    if binary_size > len(binary):
        raise InvalidInput(f"binary_data_size is {binary_size:,} bytes, but only {len(binary):,} follow the header")
    return np.frombuffer(binary, dtype=dtype, count=count).reshape(shape), binary_size


def _json_values(data: object, count: int, shape: list[int]) -> np.ndarray:
    """`data` given as JSON numbers, flat or nested, holding exactly `count` values."""
    if data is None:
        raise InvalidInput("the input has neither 'data' nor a binary_data_size parameter")
    try:
        values = np.asarray(data)
    except (ValueError, TypeError) as error:  # ragged nesting
        raise InvalidInput(f"input data is not a rectangular array of numbers ({error})") from error
    if values.dtype.kind not in "iuf":
        raise InvalidInput(f"input data must be numbers, got values of type {values.dtype}")
    if values.size != count:
        raise InvalidInput(f"input data holds {values.size:,} values; shape {shape} needs {count:,}")
    return values.reshape(shape)


def _requested_outputs(request: dict) -> dict[str, bool]:
    """Which outputs to send, in order, and which of them as binary data."""
    parameters = request.get("parameters") or {}
    binary_default = bool(parameters.get("binary_data_output", False))
    asked = request.get("outputs")
    if asked is None:
        return dict.fromkeys(OUTPUTS, binary_default)
    if not isinstance(asked, list) or not all(isinstance(output, dict) for output in asked):
        raise InvalidInput("'outputs' must be a list of objects with a 'name'")
    outputs = {}
    for output in asked:
        if output.get("name") not in OUTPUTS:
            raise InvalidInput(f"unknown output '{output.get('name')}'; the model gives {', '.join(OUTPUTS)}")
        outputs[output["name"]] = bool((output.get("parameters") or {}).get("binary_data", binary_default))
    return outputs


def infer_response(
    request: InferRequest, probabilities: np.ndarray, unsure: np.ndarray, model_name: str, version: str
) -> tuple[bytes, int | None]:
    """The response body, and the length of its JSON header when binary data follows it."""
    values = {PROBABILITIES: probabilities, DIGIT: probabilities.argmax(axis=1), UNSURE: unsure}
    outputs, binary = [], []
    for name, as_binary in request.outputs.items():
        datatype, dtype, _ = OUTPUTS[name]
        tensor = np.ascontiguousarray(values[name], dtype=dtype)
        output = {"name": name, "datatype": datatype, "shape": list(tensor.shape)}
        if as_binary:
            binary.append(tensor.tobytes())
            output["parameters"] = {"binary_data_size": tensor.nbytes}
        else:
            output["data"] = tensor.ravel().tolist()
        outputs.append(output)
    response = {"model_name": model_name, "model_version": version, "outputs": outputs}
    if request.request_id is not None:
        response["id"] = request.request_id
    header = json.dumps(response, separators=(",", ":")).encode()
    return (header + b"".join(binary), len(header)) if binary else (header, None)
