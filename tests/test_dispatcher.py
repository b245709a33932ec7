"""The batching dispatcher: concurrent requests share model calls, and a lone request never waits."""

from __future__ import annotations

import asyncio

from service.dispatcher import GreedyDispatcher

LONG_BUDGET_MS = 60_000


class RecordingModel:
    """Doubles its inputs, after a short sleep, and records the size of every call."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def __call__(self, inputs: tuple[int, ...]) -> list[int]:
        self.calls.append(len(inputs))
        await asyncio.sleep(0.01)
        return [2 * value for value in inputs]


def dispatcher(max_latency_ms: int = LONG_BUDGET_MS) -> tuple[GreedyDispatcher, RecordingModel]:
    def refuse() -> None:
        raise RuntimeError("refused")

    model = RecordingModel()
    greedy = GreedyDispatcher(max_latency_ms, max_batch_size=64, fallback=refuse, get_batch_size=lambda _: 1)
    return greedy, model


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        greedy, model = dispatcher()
        call = greedy(model)
        answers = await asyncio.gather(*(call(value) for value in range(200)))
        return answers, model.calls

    answers, calls = asyncio.run(scenario())
    assert answers == [2 * value for value in range(200)]
    assert sum(calls) == 200 and len(calls) < 200 // 4  # merged, and no call over the batch limit
    assert max(calls) <= 64


def test_a_lone_request_after_a_busy_period_is_sent_at_once() -> None:
    """BentoML's cork kept a lone request waiting ~0.95x its estimate of recent waits (3 s after an
    overload); here the estimate is set to 30 s and the request must still be answered at once."""

    async def scenario() -> float:
        greedy, model = dispatcher()
        call = greedy(model)
        await asyncio.gather(*(call(value) for value in range(100)))  # a busy period
        greedy.optimizer.wait = 30.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await asyncio.wait_for(call(21), timeout=5) == 42
        return loop.time() - started

    assert asyncio.run(scenario()) < 5


def test_requests_queued_past_the_budget_are_refused() -> None:
    async def scenario() -> list[object]:
        greedy, model = dispatcher(max_latency_ms=20)

        async def slow(inputs: tuple[int, ...]) -> list[int]:
            await asyncio.sleep(0.2)
            return await model(inputs)

        call = greedy(slow)
        first = asyncio.create_task(call(0))
        await asyncio.sleep(0.01)  # the model is busy with the first for 200 ms, ten times the budget
        queued = await asyncio.gather(*(call(value) for value in range(1, 5)), return_exceptions=True)
        return [await first, *queued]

    outcomes = asyncio.run(scenario())
    assert outcomes[0] == 0  # the first is sent at once
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes[1:]), outcomes
