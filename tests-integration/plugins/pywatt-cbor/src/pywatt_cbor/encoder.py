"""CBOR (RFC 8949) through cbor2: like msgpack, it keeps ``bytes`` apart from ``str``."""

from __future__ import annotations

from typing import Any

import cbor2

__all__ = ["CborEncoder"]


class CborEncoder:
    """Encodes the JSON data model plus ``bytes``; damaged input is a ``ValueError``."""

    name = "cbor"
    content_type = "application/cbor"

    def encode(self, value: Any) -> bytes:
        return cbor2.dumps(value)

    def decode(self, data: bytes) -> Any:
        try:
            return cbor2.loads(data)
        except cbor2.CBORDecodeError as exc:  # EOF errors included: a truncated payload
            raise ValueError(f"not a CBOR payload: {exc}") from exc
