"""The service's settings, read once from environment variables (prefix `MNIST_`)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from model_contract import DEFAULT_MODEL_TAG
from service.model_runtime import Precision, Runtime

MEBIBYTE = 1 << 20
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000  # a 48-megapixel phone photo is over it: 413, scale it down


class ServiceSettings(BaseSettings):
    """Limits and choices an operator may change without touching code."""

    model_config = SettingsConfigDict(env_prefix="MNIST_", frozen=True, protected_namespaces=())

    model_tag: str = Field(DEFAULT_MODEL_TAG, description="model store tag to serve ($MNIST_MODEL_TAG)")
    canary_tag: str | None = Field(
        None, description="a second stored version served beside the main one (X-Model-Version: canary)"
    )
    canary_percent: float = Field(
        0.0, ge=0, le=100, description="share of requests without X-Model-Version sent to the canary, by X-Client-Key"
    )
    max_images_per_request: int = Field(256, ge=1, description="images in one /predict or /predict_npy call")
    max_files_per_request: int = Field(64, ge=1, description="files in one /predict_images call")
    max_body_bytes: int = Field(16 * MEBIBYTE, ge=1024, description="largest request body accepted, any method")
    max_image_pixels: int = Field(
        DEFAULT_MAX_IMAGE_PIXELS, ge=784, description="largest image, width x height, decoded"
    )
    max_request_pixels: int = Field(
        80_000_000, ge=784, description="pixels decoded for one request, all its files together"
    )
    decode_threads: int = Field(2, ge=1, description="images decoded at once per worker: bounds decoding memory")
    max_concurrency: int = Field(
        32,
        ge=1,
        description="requests in progress per worker; past it a 429 at once (health and metrics exempt); "
        "32 keeps /readyz p99 under 50 ms at 2x overload on 2 cores (results/faults.md)",
    )
    body_timeout_s: float = Field(20.0, gt=0, description="time a client has to send its whole body: 408 after")
    header_timeout_s: float = Field(10.0, gt=0, description="time a connection has to send a request's headers")
    shutdown_grace_s: float = Field(
        20.0,
        gt=0,
        le=30,
        description="on SIGTERM, time in-flight requests have to finish before the worker exits; at most 30, "
        "when BentoML's supervisor kills its workers",
    )
    access_token: SecretStr | None = Field(
        None, description="if set, prediction and information routes need 'Authorization: Bearer <token>'"
    )
    adaptive_batching: bool = Field(True, description="merge concurrent /predict requests into one model call")
    max_batch_size: int = Field(256, ge=1, description="most images adaptive batching puts in one model call")
    max_latency_ms: int = Field(
        15_000,
        ge=10,
        description="longest a /predict request waits in the batching queue before it is refused with 503",
    )
    workers: int = Field(1, ge=1, description="server processes; one uses all cores through its runtime")
    access_log: bool = Field(True, description="BentoML's log line per request")
    runtime: Runtime = Field(
        "auto",
        description="'auto': TensorFlow where a GPU is visible, else OpenVINO; or force 'openvino' or 'tensorflow'",
    )
    precision: Precision = Field(
        "auto",
        description="'auto': bf16 on CPUs that compute it natively, once it passes its check; 'full': f32 always",
    )
