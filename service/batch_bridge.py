"""Send inputs through an API's adaptive batching from an ASGI app mounted beside the service.

BentoML keeps each worker's batching dispatchers on its `ServiceAppFactory` and gives a mounted
app no way to reach them. `install()` keeps a reference to the factory when BentoML builds the
worker's app, and `batched()` calls the factory's own `batch_infer`, the call BentoML's endpoint
makes for a batchable API: requests from a mounted app (the Open Inference Protocol routes) join
the same queue as /predict's and are merged with them into one model call.
"""

from __future__ import annotations

from typing import Any

from _bentoml_impl.server import app as bentoml_app

_factories: list[bentoml_app.ServiceAppFactory] = []  # the worker's factory, once BentoML built its app


def install() -> None:
    factory_class = bentoml_app.ServiceAppFactory
    if getattr(factory_class.__call__, "keeps_factory", False):
        return
    build_app = factory_class.__call__

    def building_app(self: bentoml_app.ServiceAppFactory):
        _factories[:] = [self]
        return build_app(self)

    building_app.keeps_factory = True
    factory_class.__call__ = building_app


async def batched(api_name: str, **arguments: Any) -> Any:
    """What the batchable API `api_name` answers for `arguments`, batched with its other callers."""
    if not _factories:
        raise RuntimeError("batch_bridge.install() must run before BentoML builds the service app")
    return await _factories[0].batch_infer(api_name, (), arguments)
