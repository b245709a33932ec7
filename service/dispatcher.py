"""Adaptive batching that dispatches as soon as the model is free, in place of BentoML's cork.

BentoML 1.4's `CorkDispatcher` holds each batch back for a wait it estimates from the mean of
recent waits. A request that arrives alone waits 0.95x that estimate and is then recorded with
that wait, so the estimate decays by about 5% per refresh: measured here, a lone /predict took
8 ms on a fresh server, ~93 ms for at least 10 s after 15 s of 128 clients, and ~3 s after a 2x
overload. Its fit of batch cost on a server that has only seen single requests also overshoots,
refusing bursts it could serve (results/burst.md).

`GreedyDispatcher` keeps BentoML's queue, batch splitting and model-call bookkeeping and replaces
only the decision of when to send: whenever the model is idle, everything queued (up to
`max_batch_size` images) goes in one call. While a call runs, new requests queue up and form the
next batch, so batches grow with load and a lone request never waits for a timer. Requests that
have waited longer than `max_latency_ms` are refused (BentoML turns that into a 503).
"""

from __future__ import annotations

import asyncio
import time

from _bentoml_impl.server import app as bentoml_app
from bentoml._internal.marshal.dispatcher import CorkDispatcher


class GreedyDispatcher(CorkDispatcher):
    """Sends the whole queue whenever the model is free; refuses requests queued past the budget."""

    async def controller(self) -> None:
        while True:
            async with self._wake_event:
                await self._wake_event.wait_for(self._queue.__len__)
            self._refuse_expired(time.time())
            if not self._queue:
                continue
            if self._sema.is_locked():  # the model is busy: the queue grows into the next batch
                await asyncio.sleep(self.TICKET_INTERVAL)
                continue
            self._sema.acquire()
            self._loop.create_task(self.outbound_call(tuple(self._get_inputs())))

    def _refuse_expired(self, now: float) -> None:
        while self._queue and now - self._queue[0].enqueue_time >= self.max_latency:
            self._queue.popleft().future.cancel()


def install() -> None:
    """Make BentoML's service app build its batching dispatchers from `GreedyDispatcher`."""
    bentoml_app.CorkDispatcher = GreedyDispatcher
