"""The JSON encoder, always available; other encoders arrive through plugins."""

from __future__ import annotations

import json
from typing import Any

from pywatt.core.contracts import Encoder

__all__ = ["Encoder", "JsonEncoder"]


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
