"""Schema fuzzing: schemathesis generates requests from the live server's own OpenAPI document.

Every operation, valid and invalid requests, bounded in examples: no server error, every answer
(status, content type, body) as the document declares it, and, on JSON routes, every request the
schema allows is accepted.
Upload routes are exempt from that last check: a schema cannot say that a file must be an image
holding a digit, so a schema-valid blank PNG is rightly refused (422). On JSON routes 422 counts as
acceptance for the same reason: pixels that all lie within 0-1, or an image light at its edges, are
schema-valid and refused as not MNIST-style (any 400 still fails the check). The operations are driven
from one test through schemathesis's Python API (its pytest plugin does not load under pytest 9).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import (
    NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES,
    POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
)
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = pytest.mark.integration
EXAMPLES_PER_OPERATION = 40
# An invalid request may be refused as too large (413) before it is parsed: a body with more arrays
# than the image limit allows is refused by counting (service.request_limits), which is rejection too.
FUZZ_CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {"expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]},
            "positive_data_acceptance": {"expected-statuses": [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "422"]},
        }
    }
)


def fuzz(operation, server: str, mode: GenerationMode) -> str | None:
    """Run one operation's examples of valid (positive) or invalid (negative) requests.

    Returns the failure found, or None.
    """
    takes_files = "multipart/form-data" in str(operation.definition.raw.get("requestBody", {}))
    excluded = [positive_data_acceptance] if takes_files else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same examples on every run: CI is repeatable
    )
    def answers_as_declared(case) -> None:
        case.call_and_validate(base_url=server, timeout=30, excluded_checks=excluded)

    try:
        answers_as_declared()
    except Unsatisfiable:  # no invalid request exists for an operation that takes no input
        return None if mode == GenerationMode.NEGATIVE else f"{operation.label}: no example could be generated"
    except Exception as failure:  # one operation's failure must not hide another's
        return f"{operation.label} ({mode}): {failure}"
    return None


def test_every_answer_is_as_the_schema_declares(server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/docs.json", config=FUZZ_CONFIG)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := fuzz(operation, server, mode))
    ]
    assert not failures, "\n\n".join(failures)
