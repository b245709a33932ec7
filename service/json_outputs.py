"""BentoML's output path for JSON answers, made cheap.

BentoML 1.4 answers an API that returns a list of models (/predict's answers) in two slow steps:
- it finds the media type by building the output model's JSON schema again, every response
  (`IOMixin.mime_type` -> `model_json_schema`): py-spy on a worker at 2x overload put 18% of the
  event loop's time there;
- it turns the answer into Python objects twice and encodes those with the standard library's
  `json`: measured with py-spy, 3 ms of the event loop for 256 predictions.
The media type depends only on the API's declared output type, so `install` computes it once per
API and stores it where BentoML looks first (`media_type`); list answers are encoded by pydantic
in one step (the same JSON, without the spaces after separators).
"""

from __future__ import annotations

import typing
from typing import Any

from _bentoml_impl.serde import JSONSerde, Serde
from _bentoml_sdk.io_models import IORootModel
from pydantic import TypeAdapter
from starlette.responses import Response


def install(service: object) -> None:
    for api in service.apis.values():
        spec = api.output_spec
        if spec.media_type is None:
            spec.media_type = spec.mime_type()
        if issubclass(spec, IORootModel) and typing.get_origin(spec.model_fields["root"].annotation) is list:
            _encode_lists_in_one_step(spec)


def _encode_lists_in_one_step(output_spec: type[IORootModel]) -> None:
    """Answers that are lists, sent as JSON, are encoded by pydantic; BentoML keeps the rest
    (streams, other serialisations)."""
    bentoml_encode = output_spec.to_http_response
    adapter = TypeAdapter(output_spec.model_fields["root"].annotation)

    async def to_http_response(cls: type, answer: Any, serde: Serde) -> Response:
        if type(serde) is not JSONSerde or not isinstance(answer, list):
            return await bentoml_encode(answer, serde)
        return Response(adapter.dump_json(answer), media_type=cls.media_type)

    output_spec.to_http_response = classmethod(to_http_response)
