"""The tutorial's five MNIST classifiers, from a linear softmax to the batch-normalised conv net.

Each model takes raw 0-255 pixels of shape (28, 28) and normalises them itself with the training
set's mean and standard deviation, so the saved model needs no preprocessing beside it.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

from model_contract import INPUT_SHAPE, NUM_CLASSES

# The published MNIST training-set statistics; training passes the ones it measured.
MNIST_MEAN = 33.318
MNIST_STD = 78.567
# Keras's default of 0.99 leaves the moving statistics mostly at their initial values after a
# short run (87% instead of 96% after one 5,000-image epoch); 0.9 follows the batches within a
# few dozen steps and makes no difference to the full recipes (99.15% either way).
BATCHNORM_MOMENTUM = 0.9
# The softmax always computes in float32, also when the rest trains in bfloat16
# (training/precision.py): bfloat16 keeps 8 bits, and rounds 0.999 to 0.996.
OUTPUT_DTYPE = "float32"


def _normalised_input(mean: float, std: float) -> list[layers.Layer]:
    """Input of raw pixels, then (x - mean) / std: what the tutorial did before fitting."""
    return [keras.Input(shape=INPUT_SHAPE), layers.Rescaling(scale=1 / std, offset=-mean / std)]


def linear(mean: float = MNIST_MEAN, std: float = MNIST_STD) -> keras.Sequential:
    """Multinomial logistic regression: 7,850 parameters."""
    return keras.Sequential(
        [
            *_normalised_input(mean, std),
            layers.Flatten(),
            layers.Dense(NUM_CLASSES, activation="softmax", dtype=OUTPUT_DTYPE),
        ],
        name="linear",
    )


def one_hidden_layer(mean: float = MNIST_MEAN, std: float = MNIST_STD) -> keras.Sequential:
    """One sigmoid hidden layer of 100 units: 79,510 parameters."""
    return keras.Sequential(
        [
            *_normalised_input(mean, std),
            layers.Flatten(),
            layers.Dense(100, activation="sigmoid"),
            layers.Dense(NUM_CLASSES, activation="softmax", dtype=OUTPUT_DTYPE),
        ],
        name="one_hidden_layer",
    )


def _conv_block(filters: int, convs: int, batchnorm: bool) -> list[layers.Layer]:
    """`convs` 3x3 same-padded ReLU convolutions (each followed by BatchNorm if asked), then pool."""
    block: list[layers.Layer] = []
    for _ in range(convs):
        block.append(layers.Conv2D(filters, 3, padding="same", activation="relu"))
        if batchnorm:
            block.append(layers.BatchNormalization(momentum=BATCHNORM_MOMENTUM))
    block.append(layers.MaxPooling2D())
    return block


def conv(mean: float = MNIST_MEAN, std: float = MNIST_STD) -> keras.Sequential:
    """Plain conv net: convs 7-7, 14-14, 28-28-28, 56-56-56 with pooling, Dense 100 sigmoid."""
    return keras.Sequential(
        [
            *_normalised_input(mean, std),
            layers.Reshape((*INPUT_SHAPE, 1)),
            *_conv_block(7, 2, batchnorm=False),
            *_conv_block(14, 2, batchnorm=False),
            *_conv_block(28, 3, batchnorm=False),
            *_conv_block(56, 3, batchnorm=False),
            layers.Flatten(),
            layers.Dense(100, activation="sigmoid"),
            layers.Dense(NUM_CLASSES, activation="softmax", dtype=OUTPUT_DTYPE),
        ],
        name="conv",
    )


def _conv_dropout_net(name: str, batchnorm: bool, mean: float, std: float) -> keras.Sequential:
    """Convs 10-10, 20-20, 40-40 with pooling, then Dense 400 twice with dropout 0.5 and 0.6."""

    def dense_400(dropout: float) -> list[layers.Layer]:
        normalise = [layers.BatchNormalization(momentum=BATCHNORM_MOMENTUM)] if batchnorm else []
        return [layers.Dense(400, activation="relu"), *normalise, layers.Dropout(dropout)]

    return keras.Sequential(
        [
            *_normalised_input(mean, std),
            layers.Reshape((*INPUT_SHAPE, 1)),
            *_conv_block(10, 2, batchnorm),
            *_conv_block(20, 2, batchnorm),
            *_conv_block(40, 2, batchnorm),
            layers.Flatten(),
            *dense_400(0.5),
            *dense_400(0.6),
            layers.Dense(NUM_CLASSES, activation="softmax", dtype=OUTPUT_DTYPE),
        ],
        name=name,
    )


def conv_dropout(mean: float = MNIST_MEAN, std: float = MNIST_STD) -> keras.Sequential:
    """Conv net with dropout: 336,940 parameters."""
    return _conv_dropout_net("conv_dropout", batchnorm=False, mean=mean, std=std)


def conv_batchnorm_dropout(mean: float = MNIST_MEAN, std: float = MNIST_STD) -> keras.Sequential:
    """The tutorial's final net: BatchNorm after every conv and Dense 400; 340,700 parameters."""
    return _conv_dropout_net("conv_batchnorm_dropout", batchnorm=True, mean=mean, std=std)


def with_dropout_scaled(model: keras.Sequential, scale: float) -> keras.Sequential:
    """The same net with every dropout rate times `scale`: a training setting, not another net
    (the layers and parameters are the same, and dropout does nothing once trained)."""
    for layer in model.layers:
        if isinstance(layer, layers.Dropout):
            if not 0 <= layer.rate * scale < 1:
                raise ValueError(
                    f"dropout scale {scale:g} makes {layer.name}'s rate {layer.rate * scale:g}: keep it 0-1"
                )
            layer.rate *= scale
    return model


ARCHITECTURES: dict[str, Callable[[float, float], keras.Sequential]] = {
    "linear": linear,
    "one_hidden_layer": one_hidden_layer,
    "conv": conv,
    "conv_dropout": conv_dropout,
    "conv_batchnorm_dropout": conv_batchnorm_dropout,
}
