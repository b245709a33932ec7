"""LitServe serving our model: /predict batched (LitServe's `max_batch_size`/`batch_timeout`),
/predict_npy one upload per call; ZeroMQ queues (`fast_queue`), as its docs advise past 100 req/s.

    .peers/litserve/bin/python -m loadtest.peers.litserve_app PORT
"""

from __future__ import annotations

import sys

import litserve as ls
import numpy as np

from loadtest.peers import shared


class JsonDigits(ls.LitAPI):
    def setup(self, device: str) -> None:
        self.model = shared.classifier()

    def decode_request(self, request: dict) -> np.ndarray:
        return shared.pixels_from_json(request)

    def batch(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return inputs  # requests may hold several images: `predict` joins them

    def predict(self, batch: list[np.ndarray]) -> list[np.ndarray]:
        return shared.split(self.model.probabilities(np.concatenate(batch)), [len(x) for x in batch])

    def unbatch(self, output: list[np.ndarray]) -> list[np.ndarray]:
        return output

    def encode_response(self, output: np.ndarray) -> list[dict]:
        return shared.answers(output)


class NpyDigits(ls.LitAPI):
    def setup(self, device: str) -> None:
        self.model = shared.classifier()

    def decode_request(self, request) -> np.ndarray:  # a multipart form, as /predict_npy takes
        return shared.pixels_from_npy(request["array"].file.read())

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        return self.model.probabilities(pixels)

    def encode_response(self, output: np.ndarray) -> list[dict]:
        return shared.answers(output)


if __name__ == "__main__":
    apis = [
        JsonDigits(max_batch_size=shared.max_batch(), batch_timeout=shared.batch_wait_s(), api_path=shared.JSON_ROUTE),
        NpyDigits(api_path=shared.NPY_ROUTE),
    ]
    server = ls.LitServer(apis, accelerator="cpu", fast_queue=True)
    server.run(host="127.0.0.1", port=int(sys.argv[1]), generate_client_file=False, log_level="warning")
