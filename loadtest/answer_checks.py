"""How the load tests judge an answer: well formed, one digit per image, and mostly right.

Kept apart from the locust users (loadtest/locustfile.py) so that each answer form, ours or a
peer framework's, has its one checker here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # importing locust outside its own process monkey-patches the standard library
    from locust.env import Environment

    from loadtest.payloads import Payloads

MIN_ANSWERS_BEFORE_JUDGING = 100  # the wrong-answer rate means little before this many answers


class Traffic:
    """Payloads and the running tally of answers, shared by all users of this process."""

    payloads: Payloads | None = None
    environment: Environment | None = None
    stopping = False
    check_digits = True
    max_wrong_rate = 0.05
    answers = 0
    wrong = 0


def check_answers(response, labels) -> None:
    """Mark the response failed unless it holds one well-formed answer per image, mostly right."""
    if response.status_code != 200:
        response.failure(f"status {response.status_code}: {response.text[:200]}")
        return
    try:
        answers = json.loads(response.content)
        answers = [answers] if isinstance(answers, dict) else answers
        digits = [int(a["digit"]) for a in answers]
        well_formed = all(len(a["probabilities"]) == 10 for a in answers)
    except (ValueError, KeyError, TypeError) as error:
        response.failure(f"malformed answer: {error}")
        return
    judge_digits(response, digits if well_formed else [], labels)


def check_v2_answers(response, labels) -> None:
    """The same for an Open Inference Protocol response, outputs as binary data or as JSON."""
    if response.status_code != 200:
        response.failure(f"status {response.status_code}: {response.text[:200]}")
        return
    try:
        digits = v2_digits(response.content, response.headers.get("Inference-Header-Content-Length"), len(labels))
    except (ValueError, KeyError, TypeError) as error:
        response.failure(f"malformed answer: {error}")
        return
    judge_digits(response, digits, labels)


def judge_digits(response, digits: list[int], labels) -> None:
    """Fail a response without one digit per image, or once too many digits are wrong."""
    if len(digits) != len(labels):
        response.failure(f"expected {len(labels)} well-formed answers, got {len(digits)}")
        return
    if Traffic.check_digits:
        Traffic.answers += len(digits)
        Traffic.wrong += sum(d != int(label) for d, label in zip(digits, labels, strict=True))
        rate = Traffic.wrong / Traffic.answers
        if Traffic.answers >= MIN_ANSWERS_BEFORE_JUDGING and rate > Traffic.max_wrong_rate:
            response.failure(f"wrong-answer rate {rate:.1%} above {Traffic.max_wrong_rate:.1%}")
            return
    response.success()


def v2_digits(content: bytes, header_length: str | None, count: int) -> list[int]:
    """The "digit" output of an Open Inference Protocol answer: from the binary part after the JSON
    header when the answer has one (its length in the header), else from the JSON "data"."""
    if header_length is None:
        outputs = json.loads(content)["outputs"]
        return [int(digit) for digit in next(o for o in outputs if o["name"] == "digit")["data"]]
    length = int(header_length)
    outputs = json.loads(content[:length])["outputs"]
    sizes = [output["parameters"]["binary_data_size"] for output in outputs]
    names = [output["name"] for output in outputs]
    offset = length + sum(sizes[: names.index("digit")])
    return np.frombuffer(content, dtype="<i8", count=count, offset=offset).tolist()
