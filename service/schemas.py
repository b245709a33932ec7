"""What crosses HTTP: the answer for one image, and the model-information record."""

from __future__ import annotations

from pydantic import BaseModel, Field

from model_contract import NUM_CLASSES


class Prediction(BaseModel):
    """The model's answer for one image."""

    digit: int = Field(ge=0, lt=NUM_CLASSES, description="the most probable digit", examples=[7])
    confidence: float = Field(ge=0, le=1, description="probability of that digit", examples=[0.998])
    probabilities: list[float] = Field(
        min_length=NUM_CLASSES,
        max_length=NUM_CLASSES,
        description="probability of each digit 0-9; they sum to 1",
    )


class ModelInfo(BaseModel):
    """Which model answers, how good it is, what it expects, and where it runs."""

    tag: str = Field(description="model store tag", examples=["mnist_classifier:abc123"])
    created: str = Field(description="when training saved it (ISO 8601)")
    architecture: str = Field(examples=["conv_batchnorm_dropout"])
    test_accuracy: float = Field(description="accuracy on the 10,000 MNIST test images")
    parameters: int
    device: str = Field(description="where inference runs", examples=["/CPU:0", "/GPU:0"])
    input_format: dict = Field(description="shape, dtype and range of one image")
    limits: dict = Field(description="request limits this server enforces")
