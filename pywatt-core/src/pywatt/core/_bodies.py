"""HTTP bodies on the wire (``Vec<u8>`` as a JSON integer array), without an int per byte;
and the one JSON error body a module answers with.

Parsing a large body the generic way builds a Python list of one int per byte (about 8 bytes
of pointer per body byte) before ``bytes`` is made of it; rendering it builds such a list too.
Here the array is cut out of the line and converted in slices of about 1 MiB, so the extra
memory stays bounded whatever the body's size, and the rest of the line (small) still goes
through the normal strict decoder. Anything unusual falls back to that decoder, which then
gives the exact error.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "FAST_PATH_MIN",
    "SENTINEL",
    "error_body",
    "parse_octets",
    "render_octets",
    "split_body",
]

#: Lines shorter than this take the generic path, which is exact and fast enough for them.
FAST_PATH_MIN = 64 * 1024
_KEY = b'"body":['
_SLICE = 1 << 20
_ALLOWED = b"0123456789, \t\r\n"
#: Stands in for the array while the rest of the line is checked; escaped, so no raw line can
#: contain it by accident without it being counted twice.
SENTINEL = "\u0001pywatt-octets\u0001"
_SENTINEL_JSON = json.dumps(SENTINEL).encode()
_DECIMAL = [str(i).encode() for i in range(256)]


def parse_octets(text: memoryview) -> bytes | None:
    """The bytes an integer array's inside (between ``[`` and ``]``) spells, or None."""
    out = bytearray()
    start, end = 0, len(text)
    while start < end:
        stop = min(end, start + _SLICE)
        piece = text[start:stop].tobytes()
        if stop < end:
            cut = piece.rfind(b",")
            if cut < 0:
                return None
            piece = piece[:cut]
            stop = start + cut + 1
        if piece.translate(None, _ALLOWED):
            return None  # a sign, a fraction, a non-number: let the strict decoder explain
        try:
            out += bytes(json.loads(b"[" + piece + b"]"))
        except ValueError:
            return None  # malformed, or a value over 255
        start = stop
    return bytes(out)


def split_body(line: bytes | bytearray) -> tuple[bytes, bytes] | None:
    """``(line with the body array replaced by SENTINEL, body)`` when that is unambiguous."""
    start = line.find(_KEY)
    if start < 0 or line.find(_KEY, start + len(_KEY)) >= 0:
        return None
    inner = start + len(_KEY)
    close = line.find(b"]", inner)
    if close < 0:
        return None
    body = parse_octets(memoryview(line)[inner:close])
    if body is None:
        return None
    rest = bytes(line[: inner - 1]) + _SENTINEL_JSON + bytes(line[close + 1 :])
    if rest.count(_SENTINEL_JSON) != 1:
        return None
    return rest, body


def sentinel_at(obj: Any, path: tuple[str, ...]) -> bool:
    """Whether the parsed rest of a line holds the sentinel exactly at ``path``."""
    for key in path:
        if not isinstance(obj, dict):
            return False
        obj = obj.get(key)
    return bool(obj == SENTINEL)


def null_sentinel(rest: bytes) -> bytes:
    return rest.replace(_SENTINEL_JSON, b"null", 1)


def render_octets(body: bytes | bytearray | memoryview, out: bytearray) -> None:
    """Append ``body`` as a JSON integer array (``[1,2,3]``) to ``out``."""
    out += b"["
    view = memoryview(body)
    for start in range(0, len(view), _SLICE):
        if start:
            out += b","
        out += b",".join(map(_DECIMAL.__getitem__, view[start : start + _SLICE]))
    out += b"]"


def error_body(message: str) -> bytes:
    """The JSON error body a module answers with: the Rust SDK's ``ApiResponse`` error shape."""
    body = {"status": "error", "data": None, "message": message}
    return json.dumps(body, separators=(",", ":")).encode()
