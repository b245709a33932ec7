"""What crosses HTTP: the answer for one image (with or without what the model saw), and the
model-information record."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, RootModel

from model_contract import IMAGE_SIDE, NUM_CLASSES, PIXEL_MAX

GreyLevel = Annotated[int, Field(ge=0, le=PIXEL_MAX)]


class Prediction(BaseModel):
    """The model's answer for one image."""

    digit: int = Field(ge=0, lt=NUM_CLASSES, description="the most probable digit", examples=[7])
    confidence: float = Field(ge=0, le=1, description="probability of that digit", examples=[0.998])
    probabilities: list[float] = Field(
        min_length=NUM_CLASSES,
        max_length=NUM_CLASSES,
        description="probability of each digit 0-9; they sum to 1",
    )
    unsure: bool = Field(
        description="true when the confidence is below the model's threshold: the image is probably not a "
        "digit (a letter, a scribble, noise), or the model cannot tell which digit. The threshold was chosen "
        "on held-out digits so that about 1% of real digits fall below it; /model_info gives it",
        examples=[False],
    )


class Predictions(RootModel[list[Prediction]]):
    """The answers for several images, one per image, in the order they were sent."""


class ImagePreview(Prediction):
    """The answer for one image file, with the 28x28 image the model saw."""

    model_input: list[Annotated[list[GreyLevel], Field(min_length=IMAGE_SIDE, max_length=IMAGE_SIDE)]] = Field(
        min_length=IMAGE_SIDE,
        max_length=IMAGE_SIDE,
        description="the prepared image: 28 rows of 28 grey levels 0-255, light ink on black, the digit "
        "cropped, fitted to 20x20 and centred by mass as MNIST's digits were",
    )


class ServedModel(BaseModel):
    """One stored model version this server answers with."""

    tag: str = Field(examples=["mnist_classifier:abc123"])
    role: str = Field(description="'stable', or 'canary' (X-Model-Version picks one)", examples=["stable"])
    share_percent: float = Field(description="share of requests without X-Model-Version that it answers")


class ModelInfo(BaseModel):
    """Which model answers, how good it is, what it expects, and where it runs."""

    tag: str = Field(description="model store tag", examples=["mnist_classifier:abc123"])
    stage: str = Field(
        "", description="the model's stage label: 'production' when promoted (python -m training.promote), else ''"
    )
    created: str = Field(description="when training saved it (ISO 8601)")
    architecture: str = Field(examples=["conv_batchnorm_dropout"])
    test_accuracy: float = Field(description="accuracy on the 10,000 MNIST test images")
    parameters: int
    device: str = Field(description="where inference runs", examples=["CPU", "/GPU:0"])
    runtime: str = Field(description="the library that runs the model, and its version", examples=["openvino 2026.4.1"])
    precision: str = Field(description="the precision it computes in", examples=["bf16", "f32"])
    precision_check: dict = Field(
        description="how reduced precision answered the model's check batch beside f32 ({}: not tried)",
        examples=[{"images": 256, "digits_changed": 0, "max_probability_difference": 0.004, "tolerance": 0.03}],
    )
    unsure_below: float = Field(description="answers less confident than this are flagged 'unsure'")
    calibration: dict = Field(
        description="the temperature training fitted on held-out digits, the expected calibration error on the "
        "test set before and after it, and the shares of test digits and drawn non-digits flagged ({}: the "
        "model was stored without calibration, and the threshold is a fixed 0.5)",
    )
    input_format: dict = Field(description="shape, dtype and range of one image")
    limits: dict = Field(description="request limits this server enforces")
    served: list[ServedModel] = Field(description="every version served: the stable one and a canary, if any")
