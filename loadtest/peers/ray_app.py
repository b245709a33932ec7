"""Ray Serve serving our model: one deployment, single-image requests batched with `@serve.batch`
(and `max_ongoing_requests` raised to the batch size, as Ray's batching guide says); .npy bodies
answered whole.

    .peers/ray/bin/python -m loadtest.peers.ray_app PORT
"""

from __future__ import annotations

import signal
import sys

import numpy as np
import ray
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from loadtest.peers import shared


@serve.deployment(max_ongoing_requests=shared.max_batch())
class Digits:
    def __init__(self) -> None:
        self.model = shared.classifier()

    @serve.batch(max_batch_size=shared.max_batch(), batch_wait_timeout_s=shared.batch_wait_s())
    async def classify(self, requests: list[np.ndarray]) -> list[np.ndarray]:
        return shared.split(self.model.probabilities(np.concatenate(requests)), [len(r) for r in requests])

    async def __call__(self, request: Request) -> Response:
        if request.method == "GET":
            return PlainTextResponse("ready")  # answered only once the deployment runs
        if request.url.path == shared.NPY_ROUTE:
            probabilities = self.model.probabilities(shared.pixels_from_npy(await request.body()))
        else:
            probabilities = await self.classify(shared.pixels_from_json(await request.body()))
        return JSONResponse(shared.answers(probabilities))


if __name__ == "__main__":
    ray.init(include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": int(sys.argv[1])})
    serve.run(Digits.bind(), route_prefix="/")
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    serve.shutdown()
    ray.shutdown()
