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
        EncodedMessage as EncodedMessage,
        EncodingFormat as EncodingFormat,
        FrameDecoder as FrameDecoder,
        Message as Message,
        MessageMetadata as MessageMetadata,
        decode_envelope as decode_envelope,
        encode_envelope as encode_envelope,
        encode_frame as encode_frame,
        frame_payload_to_json as frame_payload_to_json,
    )
    from pywatt.core.messages import (
        REPLY_ENDPOINT as REPLY_ENDPOINT,
        InitBlob as InitBlob,
        ListenAddress as ListenAddress,
        ModuleToOrchestrator as ModuleToOrchestrator,
        OrchestratorToModule as OrchestratorToModule,
        StdioHttpResponse as StdioHttpResponse,
        decode_init as decode_init,
        decode_m2o as decode_m2o,
        decode_module_line as decode_module_line,
        decode_o2m as decode_o2m,
        encode as encode,
        parse_listen_address as parse_listen_address,
        stdio_http_response as stdio_http_response,
    )

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "pywatt.core.envelope": (
            "decode_envelope encode_envelope encode_frame EncodedMessage EncodingFormat "
            "frame_payload_to_json FrameDecoder Message MessageMetadata"
        ),
        "pywatt.core.messages": (
            "decode_init decode_m2o decode_module_line decode_o2m encode InitBlob ListenAddress "
            "ModuleToOrchestrator OrchestratorToModule parse_listen_address REPLY_ENDPOINT "
            "stdio_http_response StdioHttpResponse"
        ),
    },
)
