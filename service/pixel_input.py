"""The JSON input of /predict: its OpenAPI schema, and its validation with the right status.

The schema describes exactly what is accepted (lists of 28 rows of 28 numbers 0-255, flat rows of
784, or 28 rows of 28 one-number arrays), so that clients, the API page and schema fuzzers see the
real contract.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, PlainSerializer, WithJsonSchema

from model_contract import IMAGE_SIDE, PIXEL_MAX
from service.error_contract import refusal
from service.invalid_input import InvalidInput
from service.pixel_arrays import images_to_batch

EXAMPLE_IMAGE = [[0] * IMAGE_SIDE for _ in range(IMAGE_SIDE)]
PIXEL_SCHEMA = {"type": "number", "minimum": 0, "maximum": PIXEL_MAX}
ROW_SCHEMA = {"type": "array", "items": PIXEL_SCHEMA, "minItems": IMAGE_SIDE, "maxItems": IMAGE_SIDE}
GRID_SCHEMA = {"type": "array", "items": ROW_SCHEMA, "minItems": IMAGE_SIDE, "maxItems": IMAGE_SIDE}
FLAT_SCHEMA = {"type": "array", "items": PIXEL_SCHEMA, "minItems": IMAGE_SIDE**2, "maxItems": IMAGE_SIDE**2}
ONE_PIXEL_SCHEMA = {"type": "array", "items": PIXEL_SCHEMA, "minItems": 1, "maxItems": 1}
CHANNEL_ROW_SCHEMA = {"type": "array", "items": ONE_PIXEL_SCHEMA, "minItems": IMAGE_SIDE, "maxItems": IMAGE_SIDE}
CHANNEL_GRID_SCHEMA = {"type": "array", "items": CHANNEL_ROW_SCHEMA, "minItems": IMAGE_SIDE, "maxItems": IMAGE_SIDE}


def validated_pixels(images: list, max_images: int) -> np.ndarray:
    """A request's pixel arrays as a float32 batch, or a refusal with the status the problem calls for.

    Raised as a BentoMLException rather than the ValueError pydantic would wrap, so that "too many
    images" reaches the client as 413 (pydantic's errors all become 400), with our message.
    """
    try:
        return images_to_batch(images, max_images)
    except InvalidInput as error:
        raise refusal(error.status, str(error)) from None


def pixel_batch(max_images: int) -> Any:
    """The annotated type of /predict's `images` field, for at most `max_images` images."""
    schema = {
        "type": "array",
        "items": {"oneOf": [GRID_SCHEMA, FLAT_SCHEMA, CHANNEL_GRID_SCHEMA]},
        "minItems": 1,
        "maxItems": max_images,
        "description": "one or more images: 28x28 arrays (or flat 784-long rows, or Keras's 28x28x1) "
        f"of 0-255 pixels, light ink on a dark background as in MNIST; at most {max_images}",
        "examples": [[EXAMPLE_IMAGE]],
    }
    return Annotated[
        list,
        WithJsonSchema(schema),
        AfterValidator(lambda images: validated_pixels(images, max_images)),
        PlainSerializer(lambda batch: batch.tolist(), return_type=list),  # for BentoML's Python client
    ]
