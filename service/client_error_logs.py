"""A client's bad input is logged as one line, not as a server error with its traceback.

BentoML 1.4 logs every exception an API raises at ERROR with the full traceback
(`bentoml._internal.server.http_app.log_exception`), the 4xx answers of input validation included:
measured here, a request with a NaN pixel wrote a 30-line traceback of about 3 KB at ERROR beside
its access line. Under hostile or merely careless clients that is log volume a client controls,
and alerts on errors that are not the server's. This filter on that logger turns such records
into one WARNING line naming the problem; 5xx and other exceptions keep their traceback.
"""

from __future__ import annotations

import logging

from bentoml.exceptions import BentoMLException
from pydantic import ValidationError

BENTOML_EXCEPTION_LOGGER = "bentoml._internal.server.http_app"


class ClientErrorsInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        status = _client_error_status(error)
        if status is not None:
            record.msg = f"{record.getMessage()}: {status} to the client: {_summary(error)}"
            record.args = None
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


def _client_error_status(error: BaseException | None) -> int | None:
    if isinstance(error, ValidationError):
        return 400  # what BentoML answers for it
    if isinstance(error, BentoMLException) and error.error_code.value < 500:
        return error.error_code.value
    return None


def _summary(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        first = error.errors(include_context=False, include_input=False)[0]
        where = ".".join(map(str, first["loc"]))
        return f"{where}: {first['msg']}" if where else first["msg"]
    return str(error)


def install() -> None:
    logging.getLogger(BENTOML_EXCEPTION_LOGGER).addFilter(ClientErrorsInOneLine())
