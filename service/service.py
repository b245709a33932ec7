"""The MNIST digit service: endpoints only. Validation and image maths live in `pixel_arrays` and
`preprocess`.

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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import anyio
import bentoml
import numpy as np
from PIL import Image
from pydantic import Field, TypeAdapter
from starlette.responses import Response

import model_contract as contract
from service import draw_page, graceful_http, http_stack, open_inference
from service.container_image import service_image
from service.error_contract import error_answer
from service.gc_tuning import freeze_long_lived_objects
from service.invalid_input import InvalidInput
from service.model_choice import canary_model_tag, served_model_tag
from service.model_routing import CANARY, CANARY_BATCHED_ROUTE, STABLE, ServedVersions, chosen_role
from service.model_runtime import PLATFORMS, Classifier, chosen_runtime, load_classifier
from service.open_inference import open_inference_app
from service.pixel_arrays import read_npy
from service.pixel_input import pixel_batch
from service.preprocess import check_request_pixels, open_image, prepare_image
from service.schemas import ImagePreview, ModelInfo, Prediction, Predictions, ServedModel
from service.settings import ServiceSettings

settings = ServiceSettings()
PixelBatch = pixel_batch(settings.max_images_per_request)
PREDICTIONS = TypeAdapter(list[Prediction])
ONE_PREDICTION = TypeAdapter(Prediction)
IMAGE_PREVIEW = TypeAdapter(ImagePreview)
INLINE_BATCH_IMAGES = 4  # at most ~0.5 ms of model and answer time: run on the event loop (see `answered`)


def json_answer(value: object, adapter: TypeAdapter = PREDICTIONS) -> Response:
    """The answer serialised by pydantic in one step.

    Returning a Response skips BentoML's generic output path, which rebuilds the JSON schema and
    re-encodes with the standard library on every response: a fifth of a worker's time on
    `/predict_npy`. Such endpoints are typed `-> Response`, and their `output_spec` documents the
    answer in the OpenAPI schema.
    """
    return Response(adapter.dump_json(value), media_type="application/json")


@dataclass(frozen=True)
class Answerer:
    """A loaded model, and the confidence below which its answers are flagged as unsure (its own:
    each stored version carries the threshold training chose for it)."""

    classifier: Classifier
    unsure_below: float

    def predictions(self, pixels: np.ndarray) -> list[Prediction]:
        probabilities = self.classifier.probabilities(pixels)
        digits = probabilities.argmax(axis=1)
        return [
            Prediction(
                digit=int(digit),
                confidence=float(row[digit]),
                probabilities=row.tolist(),
                unsure=bool(row[digit] < self.unsure_below),
            )
            for digit, row in zip(digits, probabilities, strict=True)
        ]


async def answered(model: Answerer, images: list) -> list[Prediction]:
    """A batch's answers: small batches on the event loop, larger ones in a worker thread.

    A lone image costs the model 0.2 ms; handing it to a thread and back cost more than that
    (one client, results/latency.md). Larger batches keep the loop free while the model runs.
    """

    def answer() -> list[Prediction]:
        return model.predictions(np.asarray(images, dtype=np.float32))

    return answer() if len(images) <= INLINE_BATCH_IMAGES else await anyio.to_thread.run_sync(answer)


def read_and_delete(upload: Path) -> bytes:
    """An uploaded file's bytes, its temporary file deleted (see `MnistClassifier._open_files`)."""
    content = upload.read_bytes()
    upload.unlink(missing_ok=True)
    return content


SERVED = served_model_tag(settings)
CANARY_SERVED = canary_model_tag(settings, SERVED)
VERSIONS = ServedVersions(str(SERVED), CANARY_SERVED and str(CANARY_SERVED), settings.canary_percent)
PLATFORM = PLATFORMS[chosen_runtime(Path(bentoml.models.get(SERVED).path), settings.runtime)]
open_inference_routes = open_inference_app(
    SERVED.name, PLATFORM, VERSIONS, settings.max_images_per_request, graceful_http.DRAINING
)


@bentoml.asgi_app(open_inference_routes, path=open_inference.PATH)
@bentoml.asgi_app(draw_page.app, path=draw_page.PATH)
@bentoml.service(
    workers=settings.workers,
    traffic={"timeout": 60},
    logging={"access": {"enabled": settings.access_log}},
    image=service_image(),
)
class MnistClassifier:
    """Recognises handwritten digits with the model that `python -m training` stored."""

    # at class scope, so that `bentoml build` packs them
    stored_model = bentoml.models.BentoModel(str(SERVED))
    canary_model = bentoml.models.BentoModel(str(CANARY_SERVED)) if CANARY_SERVED else None

    def __init__(self) -> None:
        models = {STABLE: self.stored_model, CANARY: self.canary_model}
        self.models = {  # loaded and warmed up before the worker reports ready on /readyz
            role: Answerer(
                load_classifier(model.path, settings.runtime, settings.precision),
                contract.unsure_below(model.info.metadata),
            )
            for role, model in models.items()
            if model
        }
        self._decoders: anyio.CapacityLimiter | None = None  # made on first use, inside the event loop
        freeze_long_lived_objects()  # keeps full garbage collections from stalling the event loop

    @bentoml.api(
        batchable=settings.adaptive_batching,
        max_batch_size=settings.max_batch_size,
        max_latency_ms=settings.max_latency_ms,
    )
    async def predict(self, images: PixelBatch) -> list[Prediction]:
        """Classify 28x28 pixel arrays; concurrent requests are batched into one model call."""
        return await answered(self.models[STABLE], images)

    @bentoml.api(
        route=CANARY_BATCHED_ROUTE,
        batchable=settings.adaptive_batching,
        max_batch_size=settings.max_batch_size,
        max_latency_ms=settings.max_latency_ms,
    )
    async def predict_canary(self, images: PixelBatch) -> list[Prediction]:
        """The canary's own batching queue: /predict requests routed to the canary arrive here."""
        return await answered(self.models.get(CANARY, self.models[STABLE]), images)

    def _model(self) -> Answerer:
        """The model `ModelRouting` chose for this request."""
        return self.models.get(chosen_role(), self.models[STABLE])

    @bentoml.api(output_spec=Predictions)
    def predict_npy(self, array: Path) -> Response:
        """Classify a .npy upload of shape (N, 28, 28) or (N, 784): the compact form for big batches."""
        try:
            pixels = read_npy(array.read_bytes(), settings.max_images_per_request)
        except InvalidInput as error:
            return error_answer(error.status, str(error))
        return json_answer(self._model().predictions(pixels))

    @bentoml.api(output_spec=Prediction)
    async def predict_image(self, image: Path) -> Response:
        """Classify one image file (PNG, JPEG, BMP, GIF, WebP, AVIF, HEIC, TIFF; any size, any colours)."""

        def first_answer(_: np.ndarray, answers: list[Prediction]) -> Response:
            return json_answer(answers[0], ONE_PREDICTION)

        return await self._answer_files([image], self._model(), first_answer)

    @bentoml.api(output_spec=Predictions)
    async def predict_images(
        self,
        images: Annotated[list[Path], Field(min_length=1, max_length=settings.max_files_per_request)],
    ) -> Response:
        """Classify several image files in one request; answers come in the order of the files."""
        return await self._answer_files(images, self._model(), lambda _, answers: json_answer(answers))

    @bentoml.api(output_spec=ImagePreview)
    async def preview_image(self, image: Path) -> Response:
        """Classify one image file and return the 28x28 image the model saw (cropped, scaled, centred)."""

        def with_model_input(pixels: np.ndarray, answers: list[Prediction]) -> Response:
            seen = np.rint(pixels[0]).astype(np.uint8).tolist()
            return json_answer(ImagePreview(**answers[0].model_dump(), model_input=seen), IMAGE_PREVIEW)

        return await self._answer_files([image], self._model(), with_model_input)

    async def _answer_files(
        self,
        files: list[Path],
        model: Answerer,
        answer: Callable[[np.ndarray, list[Prediction]], Response],
    ) -> Response:
        """Prepare and classify the files, then `answer(pixels, predictions)`; bad files get the error.

        Refusals are returned rather than raised: BentoML logs a traceback for every exception an
        endpoint raises, and a client's blank drawing is not a server error.
        """
        try:
            pixels = await self._prepare_files(files)
        except InvalidInput as error:
            return error_answer(error.status, str(error))
        return answer(pixels, await anyio.to_thread.run_sync(model.predictions, pixels))

    async def _prepare_files(self, files: list[Path]) -> np.ndarray:
        """Headers of all files first (size limits), then decoding, a few images at a time per worker."""
        if self._decoders is None:
            self._decoders = anyio.CapacityLimiter(settings.decode_threads)
        images = await anyio.to_thread.run_sync(self._open_files, files)
        decode = anyio.to_thread.run_sync
        return np.stack([await decode(prepare_image, image, limiter=self._decoders) for image in images])

    @staticmethod
    def _open_files(files: list[Path]) -> list[Image.Image]:
        """The files opened; each is deleted once read, here in a worker thread: BentoML deletes the
        files of a request after answering it, on the event loop (64 per request at most)."""
        images = [open_image(read_and_delete(path), settings.max_image_pixels) for path in files]
        check_request_pixels(images, settings.max_request_pixels)
        return images

    @bentoml.api
    def model_info(self) -> ModelInfo:
        """Which model serves, its test accuracy, the input it expects, and the runtime it runs on."""
        stored = self.stored_model
        metadata = stored.info.metadata
        classifier = self.models[STABLE].classifier
        return ModelInfo(
            tag=str(stored.tag),
            stage=stored.info.labels.get(contract.STAGE_LABEL, ""),
            created=stored.info.creation_time.isoformat(),
            architecture=metadata.get(contract.META_ARCHITECTURE, "unknown"),
            test_accuracy=metadata.get(contract.META_TEST_ACCURACY, float("nan")),
            parameters=metadata.get(contract.META_PARAMETERS, 0),
            device=classifier.device,
            runtime=classifier.runtime,
            precision=classifier.precision,
            precision_check=classifier.precision_check or {},
            unsure_below=self.models[STABLE].unsure_below,
            calibration=metadata.get(contract.META_CALIBRATION, {}),
            served=[
                ServedModel(tag=VERSIONS.tag_of(role), role=role, share_percent=share)
                for role, share in ((STABLE, 100 - VERSIONS.canary_percent), (CANARY, VERSIONS.canary_percent))
                if role in self.models
            ],
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


http_stack.install(
    MnistClassifier,
    settings,
    model_name=SERVED.name,
    versions=VERSIONS,
)
