"""List answers encoded by pydantic in one step read as BentoML's own encoding does."""

from __future__ import annotations

import asyncio
import json

import bentoml
from _bentoml_impl.serde import JSONSerde
from _bentoml_sdk.io_models import IterableResponse
from starlette.responses import Response

from service import json_outputs
from service.schemas import Prediction

ANSWERS = [
    Prediction(digit=7, confidence=0.9, probabilities=[0.01] * 7 + [0.9] + [0.01] * 2, unsure=False),
    Prediction(digit=1, confidence=0.3, probabilities=[0.3, 0.3, 0.1] + [0.3 / 7] * 7, unsure=True),
]


def answers_service() -> object:
    @bentoml.service
    class Answers:
        @bentoml.api
        def answers(self, count: int) -> list[Prediction]:
            return ANSWERS[:count]

    return Answers


def response_to_answers(service: object) -> Response:
    return asyncio.run(service.apis["answers"].output_spec.to_http_response(ANSWERS, JSONSerde()))


def test_list_answers_read_the_same_as_bentomls_own_encoding() -> None:
    bentoml_response = response_to_answers(answers_service())
    assert isinstance(bentoml_response, IterableResponse)  # BentoML's path: streamed, encoded by `json`
    ours = answers_service()
    json_outputs.install(ours)
    our_response = response_to_answers(ours)
    assert not isinstance(our_response, IterableResponse)
    assert our_response.media_type == bentoml_response.media_type == "application/json"
    bentoml_answers = json.loads(b"".join(bentoml_response.body_iterator))
    assert json.loads(our_response.body) == bentoml_answers == [answer.model_dump() for answer in ANSWERS]
