"""Mixed bfloat16 training: chosen only where native, and the stored net always computes in float32."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from cpu_info import cpu_model_and_flags
from model_contract import INPUT_SHAPE
from tests.test_train import separable_data
from training import train
from training.models import ARCHITECTURES
from training.precision import FLOAT32, MIXED_BFLOAT16, dtype_policy, training_policy
from training.recipes import TrainConfig


def test_cpu_name_and_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("model name\t: Some Xeon\nflags\t\t: fpu sse2 avx512f avx512_bf16\nbogomips\t: 4000\n")
    assert cpu_model_and_flags(cpuinfo) == ("Some Xeon", {"fpu", "sse2", "avx512f", "avx512_bf16"})
    assert cpu_model_and_flags(tmp_path / "absent")[1] == set()


@pytest.mark.parametrize(
    ("asked", "flags", "policy"),
    [
        (True, {"avx512f", "avx512_bf16"}, MIXED_BFLOAT16),
        (True, {"amx_tile", "amx_bf16"}, MIXED_BFLOAT16),
        (True, {"avx512f", "avx2"}, FLOAT32),  # emulated bfloat16 would be slower than float32
        (False, {"avx512_bf16"}, FLOAT32),
    ],
)
def test_bfloat16_only_when_asked_and_native(asked: bool, flags: set[str], policy: str) -> None:
    assert training_policy(asked, flags) == policy


def test_the_global_policy_is_restored_even_after_an_error() -> None:
    before = keras.config.dtype_policy().name
    with pytest.raises(RuntimeError), dtype_policy(MIXED_BFLOAT16):
        assert keras.layers.Dense(2).compute_dtype == "bfloat16"
        raise RuntimeError("building failed")
    assert keras.config.dtype_policy().name == before


def test_a_net_trained_in_bfloat16_is_stored_in_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "training_policy", lambda asked: MIXED_BFLOAT16 if asked else FLOAT32)
    config = TrainConfig(
        model="linear", epochs=3, batch_size=32, learning_rates=(1e-2,), augment=False, mixed_precision=True, verbose=0
    )
    result = train.train(config, separable_data())
    assert result.precision == MIXED_BFLOAT16
    assert result.history["loss"][-1] < result.history["loss"][0] and result.evaluation.accuracy > 0.9
    assert {layer.compute_dtype for layer in result.model.layers} == {FLOAT32}
    assert {weight.dtype for weight in result.model.weights} == {FLOAT32}
    assert keras.config.dtype_policy().name == FLOAT32


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_the_softmax_computes_in_float32_under_the_mixed_policy(architecture: str) -> None:
    with dtype_policy(MIXED_BFLOAT16):
        model = ARCHITECTURES[architecture]()
    assert model.layers[0].compute_dtype == "bfloat16"
    answer = model(np.zeros((1, *INPUT_SHAPE), np.float32))
    assert model.layers[-1].compute_dtype == FLOAT32 and answer.dtype == FLOAT32
