"""Large HTTP bodies: cut out of the line and converted in slices, exactly as the slow path."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings, strategies as st

from pywatt.core import messages as m
from pywatt.core._bodies import FAST_PATH_MIN, parse_octets, render_octets
from pywatt.core.errors import ProtocolError

BIG = FAST_PATH_MIN * 3  # over the threshold, and more than one 1 MiB slice when rendered


def request_line(body: object, **extra: object) -> bytes:
    fields = {"op": "http_request", "request_id": "r-1", "method": "POST", "uri": "/u"}
    fields |= {"headers": {"a": "b"}, "body": body, **extra}
    return json.dumps(fields, separators=(",", ":")).encode()


def test_a_large_body_decodes_to_the_same_message():
    body = os.urandom(3 * 1024 * 1024)
    line = request_line(list(body))
    msg = m.decode_o2m(line)
    assert isinstance(msg, m.HttpRequest)
    assert msg.body == body
    assert msg == m._O2M.get().validate_json(line, strict=True)
    # bytearray input, as the line splitter hands it over without a copy
    assert m.decode_o2m(bytearray(line)).body == body


@pytest.mark.parametrize(
    "line",
    [
        request_line([1] * BIG + [256]),
        request_line([1] * BIG + [-1]),
        request_line([1] * BIG + [1.5]),
        request_line([1] * BIG + [True]),
        request_line([1] * BIG + ["1"]),
        request_line(None, x=[1] * BIG).replace(b'"x":', b'"body":'),  # body twice
        request_line([1] * BIG).replace(b'"body":', b'"body":null,"body":'),
        request_line([1] * BIG).replace(b'"op":"http_request"', b'"op":"http_reques"'),
        request_line([1] * BIG).replace(b'"uri":"/u",', b""),
        request_line([1] * BIG)[:-1],
    ],
)
def test_bad_large_lines_fail_as_the_strict_decoder_does(line):
    assert len(line) >= FAST_PATH_MIN
    with pytest.raises(ProtocolError):
        m.decode_o2m(line)


def test_an_array_named_body_elsewhere_is_not_taken_for_the_body():
    line = request_line(None, extra={"body": [7] * BIG})
    msg = m.decode_o2m(line)
    assert msg.body is None
    line = request_line([9, 9], extra={"body": [7] * BIG})
    assert m.decode_o2m(line).body == b"\t\t"


@settings(max_examples=50, deadline=None)
@given(body=st.binary(max_size=4000), spaces=st.booleans())
def test_parse_octets_agrees_with_json(body, spaces):
    sep = ", " if spaces else ","
    text = sep.join(map(str, body)).encode()
    assert parse_octets(memoryview(text)) == body


@settings(max_examples=30, deadline=None)
@given(text=st.text(alphabet="0123456789,- .e", max_size=40))
def test_parse_octets_refuses_what_json_refuses(text):
    try:
        expected: bytes | None = bytes(json.loads("[" + text + "]"))
    except (ValueError, TypeError):
        expected = None
    got = parse_octets(memoryview(text.encode()))
    assert got == expected


@pytest.mark.parametrize("size", [0, 1, FAST_PATH_MIN - 1, FAST_PATH_MIN, 2 * 1024 * 1024 + 3])
def test_large_responses_render_byte_identical(size):
    body = os.urandom(size)
    line = m.stdio_http_response("r", 200, {"b": "2", "a": "1"}, body, source="s", message_id="i")
    expected = {
        "content": {"body": list(body), "headers": {"a": "1", "b": "2"}, "request_id": "r"},
        "metadata": {"id": "i", "properties": {"correlation_id": "r"}, "source": "s"},
    }
    expected["content"]["status_code"] = 200
    assert bytes(line) == json.dumps(expected, separators=(",", ":")).encode()
    parsed = m.decode_module_line(line)
    assert isinstance(parsed, m.StdioHttpResponse)
    assert parsed.body == body


def test_render_octets_appends():
    out = bytearray(b"x")
    render_octets(b"\x00\xff\x10", out)
    assert out == b"x[0,255,16]"
