"""Promotion: one stored version carries the `stage=production` label, and the service serves it
when no tag is given."""

from __future__ import annotations

import bentoml
import pytest

import model_contract as contract
from service.model_choice import served_model_tag
from service.settings import ServiceSettings
from tests.conftest import save_tiny_model
from training.promote import PREVIOUS_STAGE, main


def stage(tag: str) -> str | None:
    return bentoml.models.get(tag).info.labels.get(contract.STAGE_LABEL)


def test_promotion_moves_the_label_and_the_service_follows_it(bentoml_home, monkeypatch, capsys) -> None:
    monkeypatch.delenv(contract.MODEL_TAG_ENV, raising=False)
    first, second = save_tiny_model(seed=11), save_tiny_model(seed=12)
    latest = str(bentoml.models.get(contract.DEFAULT_MODEL_TAG).tag)

    assert main([first]) == 0
    assert stage(first) == contract.PROMOTED_STAGE
    assert str(served_model_tag(ServiceSettings())) == first  # promoted, though not the latest

    assert main([second]) == 0
    assert (stage(first), stage(second)) == (PREVIOUS_STAGE, contract.PROMOTED_STAGE)
    assert str(served_model_tag(ServiceSettings())) == second
    assert "architecture" in bentoml.models.get(second).info.labels  # other labels kept
    assert f"{second}: stage=production" in capsys.readouterr().out

    main([first])
    monkeypatch.setenv(contract.MODEL_TAG_ENV, contract.DEFAULT_MODEL_TAG)  # an explicit tag wins
    assert str(served_model_tag(ServiceSettings())) == latest == second


def test_promoting_an_unknown_tag_says_so(capsys) -> None:
    assert main([f"{contract.MODEL_NAME}:doesnotexist"]) == 2
    assert "doesnotexist" in capsys.readouterr().err


def test_an_empty_store_stops_with_one_line(monkeypatch) -> None:
    monkeypatch.setenv(contract.MODEL_TAG_ENV, "no_such_model:latest")
    with pytest.raises(bentoml.exceptions.NotFound, match="train one first"):
        served_model_tag(ServiceSettings())
