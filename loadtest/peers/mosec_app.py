"""mosec serving our model: /predict batched by mosec's Rust front (`max_batch_size`,
`max_wait_time`), /predict_npy taking the .npy file as the request body, mosec's native bytes.

    .peers/mosec/bin/python -m loadtest.peers.mosec_app --port PORT
"""

from __future__ import annotations

import numpy as np
from mosec import Server, Worker

from loadtest.peers import shared


class JsonDigits(Worker):
    def __init__(self) -> None:
        super().__init__()
        self.model = shared.classifier()

    def forward(self, batch: list[dict]) -> list[list[dict]]:
        pixels = [shared.pixels_from_json(request) for request in batch]
        probabilities = self.model.probabilities(np.concatenate(pixels))
        return [shared.answers(rows) for rows in shared.split(probabilities, [len(p) for p in pixels])]


class NpyDigits(Worker):
    def __init__(self) -> None:
        super().__init__()
        self.model = shared.classifier()

    def deserialize(self, data: bytes) -> np.ndarray:
        return shared.pixels_from_npy(data)

    def forward(self, pixels: np.ndarray) -> list[dict]:
        return shared.answers(self.model.probabilities(pixels))


if __name__ == "__main__":  # mosec reads --port and friends from the command line itself
    server = Server()
    wait_ms = int(shared.batch_wait_s() * 1000)
    server.append_worker(JsonDigits, max_batch_size=shared.max_batch(), max_wait_time=wait_ms, route=shared.JSON_ROUTE)
    server.append_worker(NpyDigits, route=shared.NPY_ROUTE)
    server.run()
