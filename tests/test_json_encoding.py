"""JSON bodies as editors save them: with a UTF-8 byte-order mark, or as UTF-16, read as UTF-8."""

from __future__ import annotations

import codecs
import json

import httpx
import pytest

from service.request_limits import utf8_json

BODY = json.dumps({"images": [[[0] * 28] * 28]})


@pytest.mark.parametrize("encoded", [codecs.BOM_UTF8 + BODY.encode(), BODY.encode("utf-16"), BODY.encode("utf-32")])
def test_bodies_in_other_unicode_encodings_become_plain_utf8(encoded: bytes) -> None:
    assert utf8_json(encoded) == BODY.encode()


def test_utf8_and_undecodable_bodies_pass_unchanged() -> None:
    assert utf8_json(BODY.encode()) == BODY.encode()
    broken = codecs.BOM_UTF16_LE + b"\x00\xd8"  # a lone surrogate: the parser will refuse it
    assert utf8_json(broken) == broken


@pytest.mark.integration
def test_a_body_saved_with_a_byte_order_mark_or_as_utf16_is_answered_as_utf8(server: str) -> None:
    answers = [
        httpx.post(f"{server}/predict", content=content, headers={"content-type": "application/json"})
        for content in (BODY.encode(), codecs.BOM_UTF8 + BODY.encode(), BODY.encode("utf-16"))
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 200], [answer.text for answer in answers]
    assert answers[0].json() == answers[1].json() == answers[2].json()
