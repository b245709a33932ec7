"""MLServer serving our model through the Open Inference Protocol (its only HTTP form), with its
adaptive batching (`max_batch_size`, `max_batch_time` in model-settings.json).

    .peers/mlserver/bin/python -m loadtest.peers.mlserver_app PORT

Writes the server and model settings to a temporary folder and runs `mlserver start` on it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from pathlib import Path

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse

from loadtest.peers import shared
from model_contract import MODEL_NAME


class Digits(MLModel):
    async def load(self) -> bool:
        self.classifier = shared.classifier()
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        pixels = NumpyCodec.decode_input(payload.inputs[0]).astype("float32").reshape(-1, 28, 28)
        probabilities = self.classifier.probabilities(pixels)
        outputs = [
            NumpyCodec.encode_output("probabilities", probabilities),
            NumpyCodec.encode_output("digit", probabilities.argmax(axis=1)),
        ]
        return InferenceResponse(model_name=self.name, id=payload.id, outputs=outputs)


def unused_port() -> int:
    """For the gRPC server MLServer always starts (local_servers.free_port needs packages this
    environment lacks)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def settings_folder(port: int) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="mlserver-"))
    server = {"host": "127.0.0.1", "http_port": port, "grpc_port": unused_port(), "metrics_endpoint": None}
    model = {
        "name": MODEL_NAME,
        "implementation": "loadtest.peers.mlserver_app.Digits",
        "max_batch_size": shared.max_batch(),
        "max_batch_time": shared.batch_wait_s(),
    }
    (folder / "settings.json").write_text(json.dumps(server))
    (folder / "model-settings.json").write_text(json.dumps(model))
    return folder


if __name__ == "__main__":
    folder = settings_folder(int(sys.argv[1]))
    os.execv(sys.executable, [sys.executable, "-m", "mlserver.cli.main", "start", str(folder)])
