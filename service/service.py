"""The MNIST digit service: endpoints only. Validation and image maths live in `preprocess`.

    bentoml serve            # from the project root; reads bentofile.yaml

/predict is the batchable endpoint: BentoML's adaptive batching merges concurrent requests into
one model call. The image endpoints decode their files in worker threads and call the model once
per request with all its files. (Routing them through /predict with BentoML's in-process
self-proxy would batch them too, but that proxy drops about 4% of requests under concurrent
load in BentoML 1.4.40: "Can not write request body".)

Uploads are plain `Path` parameters with no declared content type: the decoders identify a file
by its bytes, and clients label the same file differently (curl sends .webp, .bmp, .tif and files
without an extension as application/octet-stream), so the label is never a reason to refuse.
"""

from __future__ import annotations

import gc
import os
from http import HTTPStatus
from pathlib import Path
from typing import Annotated

import anyio
import bentoml
import numpy as np
from PIL import Image
from pydantic import AfterValidator, Field, PlainSerializer, TypeAdapter, WithJsonSchema
from starlette.responses import JSONResponse, Response

import model_contract as contract
from service import dispatcher, graceful_http, metrics_paths, output_media_types
from service.admission import AccessToken, FrontDoor
from service.error_contract import ErrorContract
from service.model_runtime import CompiledClassifier
from service.preprocess import (
    InvalidInput,
    check_request_pixels,
    images_to_batch,
    open_image,
    prepare_image,
    read_npy,
)
from service.read_only_routes import ReadOnlyRoutes
from service.request_limits import RequestLimits, routes_of
from service.schemas import ModelInfo, Prediction
from service.settings import ServiceSettings

settings = ServiceSettings()
GC_FULL_COLLECTION_EVERY = 100  # middle-generation collections per full one (Python's default: 10)
EXAMPLE_IMAGE = [[0] * contract.IMAGE_SIDE for _ in range(contract.IMAGE_SIDE)]

PIXEL_SCHEMA = {"type": "number", "minimum": 0, "maximum": contract.PIXEL_MAX}
ROW_SCHEMA = {"type": "array", "items": PIXEL_SCHEMA, "minItems": contract.IMAGE_SIDE, "maxItems": contract.IMAGE_SIDE}
GRID_SCHEMA = {"type": "array", "items": ROW_SCHEMA, "minItems": contract.IMAGE_SIDE, "maxItems": contract.IMAGE_SIDE}
FLAT_SCHEMA = {
    "type": "array",
    "items": PIXEL_SCHEMA,
    "minItems": contract.IMAGE_SIDE**2,
    "maxItems": contract.IMAGE_SIDE**2,
}
PixelBatch = Annotated[
    list,
    WithJsonSchema(
        {
            "type": "array",
            "items": {"oneOf": [GRID_SCHEMA, FLAT_SCHEMA]},
            "minItems": 1,
            "maxItems": settings.max_images_per_request,
            "description": "one or more images: 28x28 arrays (or flat 784-long rows) of 0-255 pixels, "
            f"light ink on a dark background as in MNIST; at most {settings.max_images_per_request}",
            "examples": [[EXAMPLE_IMAGE]],
        }
    ),
    AfterValidator(lambda images: pixel_batch(images)),
    PlainSerializer(lambda batch: batch.tolist(), return_type=list),  # for BentoML's Python client
]
PREDICTIONS = TypeAdapter(list[Prediction])
ONE_PREDICTION = TypeAdapter(Prediction)


def pixel_batch(images: list) -> np.ndarray:
    """Validate a request's pixel arrays, refusing with the status the problem calls for.

    Raised as a BentoMLException rather than the ValueError pydantic would wrap, so that "too
    many images" reaches the client as 413 (pydantic's errors all become 400) with our message.
    """
    try:
        return images_to_batch(images, settings.max_images_per_request)
    except InvalidInput as error:
        refusal = bentoml.exceptions.BentoMLException(str(error))
        refusal.error_code = HTTPStatus(error.status)
        raise refusal from None


def error_response(error: InvalidInput) -> JSONResponse:
    """The one JSON body every refused request gets: {"error": what went wrong}."""
    return JSONResponse({"error": str(error)}, status_code=error.status)


def json_answer(value: object, adapter: TypeAdapter = PREDICTIONS) -> Response:
    """The answer serialised by pydantic in one step.

    Returning a Response skips BentoML's generic output path, which rebuilds the JSON schema and
    re-encodes with the standard library on every response: a fifth of a worker's time on
    `/predict_npy`. The declared return types still document the answers in the OpenAPI schema.
    """
    return Response(adapter.dump_json(value), media_type="application/json")


def to_predictions(probabilities: np.ndarray) -> list[Prediction]:
    digits = probabilities.argmax(axis=1)
    return [
        Prediction(digit=int(digit), confidence=float(row[digit]), probabilities=row.tolist())
        for digit, row in zip(digits, probabilities, strict=True)
    ]


def tune_garbage_collection() -> None:
    """Keep the garbage collector from stopping the event loop for hundreds of milliseconds.

    TensorFlow, BentoML and the model leave ~400,000 long-lived objects that every full collection
    walks again: 235 ms during which the event loop, health checks included, stands still (p99 of
    /readyz at 2x overload: 374 ms). Frozen, the collector skips them. Under load, full collections
    still came every second or two, each walking up to 250,000 younger objects and freeing none
    (16-186 ms); they now wait for 100 collections of the middle generation instead of 10.
    Short-lived garbage is still collected by the young generations as before.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, GC_FULL_COLLECTION_EVERY)


def stored_model_reference(tag: str) -> bentoml.models.BentoModel:
    """The model to serve, declared at class scope so `bentoml build` packs it.

    Checked here, when the service is imported, so that `bentoml serve` with an empty store
    stops with one line that says how to train a model instead of a traceback from a worker.
    """
    try:
        bentoml.models.get(tag)
    except bentoml.exceptions.NotFound:
        raise bentoml.exceptions.NotFound(
            f"no model '{tag}' in the BentoML store at {os.environ.get('BENTOML_HOME', '~/bentoml')}; train one "
            "first: python -m training --data ../shared/data/mnist.npz  (or: make train)"
        ) from None
    return bentoml.models.BentoModel(tag)


@bentoml.service(workers=settings.workers, traffic={"timeout": 60})
class MnistClassifier:
    """Recognises handwritten digits with the model that `python -m training` stored."""

    stored_model = stored_model_reference(settings.model_tag)

    def __init__(self) -> None:
        self.classifier = CompiledClassifier(self.stored_model.path)
        self.classifier.warm_up()  # before the worker reports ready on /readyz
        self._decoders: anyio.CapacityLimiter | None = None  # made on first use, inside the event loop
        tune_garbage_collection()

    @bentoml.api(
        batchable=settings.adaptive_batching,
        max_batch_size=settings.max_batch_size,
        max_latency_ms=settings.max_latency_ms,
    )
    def predict(self, images: PixelBatch) -> list[Prediction]:
        """Classify 28x28 pixel arrays; concurrent requests are batched into one model call."""
        return to_predictions(self.classifier.probabilities(np.asarray(images, dtype=np.float32)))

    @bentoml.api
    def predict_npy(self, array: Path) -> list[Prediction]:
        """Classify a .npy upload of shape (N, 28, 28) or (N, 784): the compact form for big batches."""
        try:
            pixels = read_npy(array.read_bytes(), settings.max_images_per_request)
        except InvalidInput as error:
            return error_response(error)
        return json_answer(to_predictions(self.classifier.probabilities(pixels)))

    @bentoml.api
    async def predict_image(self, image: Path) -> Prediction:
        """Classify one image file (PNG, JPEG, BMP, GIF, WebP, AVIF, TIFF; any size, any colours)."""
        answers = await self._predict_files([image])
        return answers if isinstance(answers, Response) else json_answer(answers[0], ONE_PREDICTION)

    @bentoml.api
    async def predict_images(
        self, images: Annotated[list[Path], Field(min_length=1, max_length=settings.max_files_per_request)]
    ) -> list[Prediction]:
        """Classify several image files in one request; answers come in the order of the files."""
        answers = await self._predict_files(images)
        return answers if isinstance(answers, Response) else json_answer(answers)

    async def _predict_files(self, files: list[Path]) -> list[Prediction] | Response:
        """Headers of all files first (size limits), then decoding, a few images at a time per worker."""
        if self._decoders is None:
            self._decoders = anyio.CapacityLimiter(settings.decode_threads)
        try:
            images = await anyio.to_thread.run_sync(self._open_files, files)
            pixels = [await anyio.to_thread.run_sync(prepare_image, image, limiter=self._decoders) for image in images]
        except InvalidInput as error:
            return error_response(error)
        probabilities = await anyio.to_thread.run_sync(self.classifier.probabilities, np.stack(pixels))
        return to_predictions(probabilities)

    @staticmethod
    def _open_files(files: list[Path]) -> list[Image.Image]:
        images = [open_image(path.read_bytes(), settings.max_image_pixels) for path in files]
        check_request_pixels(images, settings.max_request_pixels)
        return images

    @bentoml.api
    def model_info(self) -> ModelInfo:
        """Which model serves, its test accuracy, the input it expects, and the device it runs on."""
        stored = self.stored_model
        metadata = stored.info.metadata
        return ModelInfo(
            tag=str(stored.tag),
            created=stored.info.creation_time.isoformat(),
            architecture=metadata.get(contract.META_ARCHITECTURE, "unknown"),
            test_accuracy=metadata.get(contract.META_TEST_ACCURACY, float("nan")),
            parameters=metadata.get(contract.META_PARAMETERS, 0),
            device=self.classifier.device,
            input_format=metadata.get(contract.META_INPUT_FORMAT, {}),
            limits=settings.model_dump(
                include={
                    "max_images_per_request",
                    "max_files_per_request",
                    "max_body_bytes",
                    "max_image_pixels",
                    "max_request_pixels",
                    "max_concurrency",
                    "body_timeout_s",
                }
            ),
        )


API_ROUTES = routes_of(MnistClassifier)
dispatcher.install()
output_media_types.install(MnistClassifier)
metrics_paths.install(API_ROUTES)
graceful_http.install(
    header_timeout_s=settings.header_timeout_s,
    grace_s=settings.shutdown_grace_s,
    front=lambda app: FrontDoor(
        app, limit=settings.max_concurrency, limited_routes=API_ROUTES, draining=graceful_http.DRAINING
    ),
)
# BentoML wraps these in the order added, the first outermost, all inside its own middlewares
MnistClassifier.add_asgi_middleware(ErrorContract, api_routes=API_ROUTES)
if settings.access_token is not None:
    MnistClassifier.add_asgi_middleware(
        AccessToken, token=settings.access_token.get_secret_value(), protected_routes=API_ROUTES
    )
MnistClassifier.add_asgi_middleware(
    RequestLimits,
    routes=API_ROUTES,
    max_body_bytes=settings.max_body_bytes,
    max_files=settings.max_files_per_request,
    max_images=settings.max_images_per_request,
    body_timeout_s=settings.body_timeout_s,
)
MnistClassifier.add_asgi_middleware(ReadOnlyRoutes, paths=frozenset({"/model_info"}))
