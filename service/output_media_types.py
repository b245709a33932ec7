"""Work out each API's response media type once, instead of once per response.

BentoML 1.4 finds the media type of every JSON response by building the output model's JSON
schema again (`IOMixin.mime_type` -> `model_json_schema`): py-spy on a worker at 2x overload put
18% of the event loop's time there. The answer depends only on the API's declared output type,
so `install` computes it once per API and stores it where BentoML looks first (`media_type`).
"""

from __future__ import annotations


def install(service: object) -> None:
    for api in service.apis.values():
        spec = api.output_spec
        if spec.media_type is None:
            spec.media_type = spec.mime_type()
