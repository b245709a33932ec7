"""A BentoML endpoint that parses the same JSON as /predict and does nothing else: the ceiling.

bentoml serve loadtest.noop_service:NoOp
"""

from __future__ import annotations

import bentoml

NOOP_ANSWER = {"digit": 0, "confidence": 1.0, "probabilities": [1.0] + [0.0] * 9}


@bentoml.service(workers=1)
class NoOp:
    @bentoml.api
    def predict(self, images: list) -> list[dict]:
        """Answers every image with the same constant, without looking at it."""
        return [NOOP_ANSWER] * len(images)
