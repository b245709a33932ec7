"""Client errors reach the log as one warning line; server errors keep their traceback."""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus

import pytest
from bentoml.exceptions import BentoMLException
from pydantic import BaseModel, ValidationError

from service.client_error_logs import ClientErrorsInOneLine


class Images(BaseModel):
    images: list[int]


def logged(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except type(error):
        exc_info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "Exception on %s [%s]", ("/predict", "POST"), exc_info)
    assert ClientErrorsInOneLine().filter(record)
    return record


def test_a_refusal_becomes_one_warning_line_naming_it() -> None:
    record = logged(BentoMLException("pixels must be finite", error_code=HTTPStatus.BAD_REQUEST))
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage() == "Exception on /predict [POST]: 400 to the client: pixels must be finite"


def test_a_validation_error_names_its_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Images.model_validate({})
    record = logged(caught.value)
    assert record.levelno == logging.WARNING and "400 to the client: images: Field required" in record.getMessage()


def test_invalid_json_is_named_without_a_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Images.model_validate_json(b"{")
    assert logged(caught.value).getMessage().startswith("Exception on /predict [POST]: 400 to the client: Invalid JSON")


@pytest.mark.parametrize("error", [BentoMLException("model failed"), RuntimeError("bug")], ids=["5xx", "other"])
def test_server_errors_keep_their_traceback(error: BaseException) -> None:
    record = logged(error)
    assert record.levelno == logging.ERROR and record.exc_info is not None
