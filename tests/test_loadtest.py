"""The locust users against the real service: a few seconds of each mix, no failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.locust_runner import run_locust
from loadtest.payloads import build_payloads

pytestmark = [pytest.mark.integration, pytest.mark.mnist]


def test_payloads_are_encoded_once_with_their_labels(mnist) -> None:
    images, labels = mnist.x_test[:64], mnist.y_test[:64]
    payloads = build_payloads(images[:64], labels[:64], batch_sizes=(8, 32))
    assert len(payloads.single_json) == len(payloads.png) == 64
    assert len(payloads.batch_npy[32]) == 2 and payloads.batch_labels[8][1].tolist() == labels[8:16].tolist()


@pytest.mark.parametrize("user_class", ["MixedUser", "NpyBatchUser", "V2JsonUser", "V2JsonBatchUser"])
def test_locust_users_run_clean(server: str, mnist, user_class: str, tmp_path: Path) -> None:
    """The locustfile's payloads are real MNIST digits: without MNIST this skips."""
    # the test server's model has random weights: answers are checked for form, not for the digit
    result = run_locust(
        server, user_class, users=4, seconds=4, csv_prefix=tmp_path / user_class, extra=["--no-check-digits"]
    )
    assert result.requests > 10
    assert result.failures == 0
    assert result.exit_code == 0
