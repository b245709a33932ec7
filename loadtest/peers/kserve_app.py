"""KServe's Python model server serving our model through the Open Inference Protocol (JSON, and
binary tensors, which it supports). It has no batching of its own: KServe batches in the Go
agent it runs beside the model on Kubernetes (`batcher:` in an InferenceService), which is not
on PyPI, so here each request is one model call.

    .peers/kserve/bin/python -m loadtest.peers.kserve_app --http_port PORT
"""

from __future__ import annotations

import uuid

import numpy as np
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer

from loadtest.peers import shared
from model_contract import INPUT_SHAPE, MODEL_NAME


class Digits(Model):
    def __init__(self) -> None:
        super().__init__(MODEL_NAME)
        self.classifier = shared.classifier()
        self.ready = True

    def predict(self, payload: InferRequest, headers: dict[str, str] | None = None) -> InferResponse:
        pixels = payload.inputs[0].as_numpy().astype(np.float32).reshape(-1, *INPUT_SHAPE)
        probabilities = self.classifier.probabilities(pixels)
        outputs = []
        for name, values in (("probabilities", probabilities), ("digit", probabilities.argmax(axis=1))):
            output = InferOutput(
                name=name, shape=list(values.shape), datatype="FP32" if values.dtype.kind == "f" else "INT64"
            )
            output.set_data_from_numpy(values, binary_data=payload.use_binary_outputs)
            outputs.append(output)
        response_id = payload.id or str(uuid.uuid4())  # its JSON answer needs one; requests may not send one
        return InferResponse(response_id, self.name, outputs, use_binary_outputs=payload.use_binary_outputs)


if __name__ == "__main__":
    ModelServer(enable_grpc=False, workers=1).start([Digits()])
