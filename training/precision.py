"""Mixed bfloat16 training where the hardware computes bfloat16 natively, float32 elsewhere.

On CPUs with AVX-512 BF16 or AMX, oneDNN runs this net's convolutions and dense layers in
bfloat16 1.2-1.5x faster than in float32 (2 cores, batch 128; results/precision.md). Without
those instructions bfloat16 is emulated and slower than float32, so the recipes that ask for it
fall back to float32 there. Only the training steps run in bfloat16: the weights stay float32
throughout (Keras's mixed policy), and the trained weights are copied into a float32 build of the
same net before calibration, evaluation and export, so every stored and served model computes in
float32.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import keras

from cpu_info import cpu_model_and_flags

FLOAT32 = "float32"
MIXED_BFLOAT16 = "mixed_bfloat16"
NATIVE_BFLOAT16_CPU_FLAGS = {"avx512_bf16", "amx_bf16"}


def training_policy(mixed_precision: bool, flags: set[str] | None = None) -> str:
    """The Keras dtype policy to train under: mixed bfloat16 when asked for and native here."""
    native = bool(NATIVE_BFLOAT16_CPU_FLAGS & (cpu_model_and_flags()[1] if flags is None else flags))
    return MIXED_BFLOAT16 if mixed_precision and native else FLOAT32


@contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Layers built inside compute under `name`; the global policy is restored afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def float32_copy(model: keras.Model, build: Callable[[], keras.Model]) -> keras.Model:
    """The same net built in float32 (by `build`) carrying `model`'s trained weights."""
    with dtype_policy(FLOAT32):
        copy = build()
    copy.set_weights(model.get_weights())
    return copy
