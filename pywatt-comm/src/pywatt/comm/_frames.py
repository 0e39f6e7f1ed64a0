"""Frame payloads to and from messages on the bootstrap TCP/Unix channel (§4.2)."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

from pywatt.core.envelope import (
    EncodingFormat,
    encode_envelope,
    encode_frame,
    frame_payload_to_json,
)
from pywatt.core.errors import UnknownOpError
from pywatt.core.messages import decode_o2m

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pywatt.core.messages import OrchestratorToModule

__all__ = ["decode_incoming", "encode_outgoing"]


def encode_outgoing(msg: BaseModel, *, id: uuid.UUID | None = None) -> bytes:
    """One m→o frame: ``Message<ModuleToOrchestrator>`` with a fresh id and ``{}`` metadata."""
    return encode_frame(encode_envelope(msg, id=id), EncodingFormat.JSON)


def decode_incoming(fmt: EncodingFormat, data: bytes) -> OrchestratorToModule:
    """A bare o→m frame; an envelope around one is unwrapped as §4.2 recommends."""
    text = frame_payload_to_json(fmt, data)
    try:
        return decode_o2m(text)
    except UnknownOpError as exc:
        if exc.op is not None:
            raise
        inner = _envelope_content(text)
        if inner is None:
            raise
        return decode_o2m(inner)


def _envelope_content(text: bytes) -> bytes | None:
    """The ``content`` of an object with no ``op`` whose ``content`` has one, else None."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or "op" in value:
        return None
    content = value.get("content")
    if not isinstance(content, dict) or "op" not in content:
        return None
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
