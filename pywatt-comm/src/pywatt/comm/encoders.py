"""The msgpack encoder: compact binary payloads for caches and module-to-module data."""

from __future__ import annotations

from typing import Any

import msgpack

__all__ = ["MsgpackEncoder"]


class MsgpackEncoder:
    """msgpack with ``bin`` for bytes and ``str`` for text, so both survive a round trip."""

    name = "msgpack"
    content_type = "application/msgpack"

    def encode(self, value: Any) -> bytes:
        data: bytes = msgpack.packb(value, use_bin_type=True)
        return data

    def decode(self, data: bytes) -> Any:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
