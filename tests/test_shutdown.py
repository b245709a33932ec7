"""SIGTERM under load: readiness turns 503, the socket stops accepting, no accepted request is lost."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from loadtest.fault_load import READINESS_TURNS_WITHIN_S, terminate_under_load
from loadtest.raw_http import ANSWERED, LOST
from tests.conftest import start_server

pytestmark = pytest.mark.integration
CLIENTS = 16
GRACE_S = 20  # the service's default shutdown grace


def test_sigterm_under_load_loses_no_accepted_request(tiny_model: str, tmp_path) -> None:
    with start_server(tiny_model, tmp_path / "serve.log") as (url, pid):
        result = asyncio.run(terminate_under_load(int(url.rsplit(":", 1)[1]), pid, users=CLIENTS, warm_s=2))
    kinds = Counter(outcome.kind for outcome in result.outcomes)
    assert kinds[ANSWERED] > CLIENTS
    assert kinds[LOST] == 0, kinds
    assert all(outcome.status == 200 for outcome in result.outcomes if outcome.kind == ANSWERED)
    assert result.readyz.status == 503, (
        f"/readyz still {result.readyz.status} {READINESS_TURNS_WITHIN_S} s after SIGTERM"
    )
    assert result.exit_s < GRACE_S
