"""The wire protocol, for code that plays the orchestrator's side or reads raw lines.

Module authors never need these: the runtime encodes and decodes every line. An orchestrator,
a test harness or a tool that inspects traffic imports the codec from here:
``from pywatt.core.protocol import decode_m2o, encode``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
    from pywatt.core.envelope import (
        EncodedMessage,
        EncodingFormat,
        FrameDecoder,
        Message,
        MessageMetadata,
        decode_envelope,
        encode_envelope,
        encode_frame,
        frame_payload_to_json,
    )
    from pywatt.core.messages import (
        REPLY_ENDPOINT,
        InitBlob,
        ListenAddress,
        ModuleToOrchestrator,
        OrchestratorToModule,
        StdioHttpResponse,
        decode_init,
        decode_m2o,
        decode_module_line,
        decode_o2m,
        encode,
        parse_listen_address,
        stdio_http_response,
    )

_LAZY: dict[str, str] = {
    "REPLY_ENDPOINT": "pywatt.core.messages",
    "InitBlob": "pywatt.core.messages",
    "ListenAddress": "pywatt.core.messages",
    "ModuleToOrchestrator": "pywatt.core.messages",
    "OrchestratorToModule": "pywatt.core.messages",
    "StdioHttpResponse": "pywatt.core.messages",
    "decode_init": "pywatt.core.messages",
    "decode_m2o": "pywatt.core.messages",
    "decode_module_line": "pywatt.core.messages",
    "decode_o2m": "pywatt.core.messages",
    "encode": "pywatt.core.messages",
    "parse_listen_address": "pywatt.core.messages",
    "stdio_http_response": "pywatt.core.messages",
    "EncodedMessage": "pywatt.core.envelope",
    "EncodingFormat": "pywatt.core.envelope",
    "FrameDecoder": "pywatt.core.envelope",
    "Message": "pywatt.core.envelope",
    "MessageMetadata": "pywatt.core.envelope",
    "decode_envelope": "pywatt.core.envelope",
    "encode_envelope": "pywatt.core.envelope",
    "encode_frame": "pywatt.core.envelope",
    "frame_payload_to_json": "pywatt.core.envelope",
}

__all__ = [
    "REPLY_ENDPOINT",
    "EncodedMessage",
    "EncodingFormat",
    "FrameDecoder",
    "InitBlob",
    "ListenAddress",
    "Message",
    "MessageMetadata",
    "ModuleToOrchestrator",
    "OrchestratorToModule",
    "StdioHttpResponse",
    "decode_envelope",
    "decode_init",
    "decode_m2o",
    "decode_module_line",
    "decode_o2m",
    "encode",
    "encode_envelope",
    "encode_frame",
    "frame_payload_to_json",
    "parse_listen_address",
    "stdio_http_response",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
