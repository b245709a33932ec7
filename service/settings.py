"""The service's settings, read once from environment variables (prefix `MNIST_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from model_contract import DEFAULT_MODEL_TAG

MEBIBYTE = 1 << 20


class ServiceSettings(BaseSettings):
    """Limits and choices an operator may change without touching code."""

    model_config = SettingsConfigDict(env_prefix="MNIST_", frozen=True, protected_namespaces=())

    model_tag: str = Field(DEFAULT_MODEL_TAG, description="model store tag to serve ($MNIST_MODEL_TAG)")
    max_images_per_request: int = Field(256, ge=1, description="images in one /predict or /predict_npy call")
    max_files_per_request: int = Field(64, ge=1, description="files in one /predict_images call")
    max_body_bytes: int = Field(16 * MEBIBYTE, ge=1024, description="largest request body accepted")
    max_image_pixels: int = Field(40_000_000, ge=784, description="largest image, width x height, decoded")
    adaptive_batching: bool = Field(True, description="merge concurrent /predict requests into one model call")
    max_batch_size: int = Field(256, ge=1, description="most images adaptive batching puts in one model call")
    max_latency_ms: int = Field(
        15_000,
        ge=10,
        description="batching's latency budget before it answers 503; generous because BentoML's cost "
        "estimate overshoots on a server that has only seen single requests (results/burst.md)",
    )
    workers: int = Field(1, ge=1, description="server processes; one uses all cores through TensorFlow")
