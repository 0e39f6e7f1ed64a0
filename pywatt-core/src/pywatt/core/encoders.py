"""The JSON encoder, always available; other encoders arrive through plugins."""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

__all__ = ["Encoder", "JsonEncoder"]


@runtime_checkable
class Encoder(Protocol):
    """Turns Python values into bytes and back. Registered through ``pywatt_register_encoders``."""

    name: str
    content_type: str

    def encode(self, value: Any) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class JsonEncoder:
    """Compact UTF-8 JSON with non-ASCII kept raw, matching the wire's serde_json output."""

    name = "json"
    content_type = "application/json"

    def __init__(self) -> None:
        self._enc = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    def encode(self, value: Any) -> bytes:
        return self._enc.encode(value).encode("utf-8")

    def decode(self, data: bytes) -> Any:
        return json.loads(data)
