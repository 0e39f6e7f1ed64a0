"""pywatt-core: the protocol, bootstrap, secrets, logging and plugin system of PyWatt modules.

Importing this package is cheap: submodules load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pywatt.core.plugins import hookimpl

if TYPE_CHECKING:
    from pywatt.core.buildinfo import BuildInfo, build_info
    from pywatt.core.config import AppConfig
    from pywatt.core.encoders import Encoder, JsonEncoder
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
    from pywatt.core.errors import (
        DuplicateComponentError,
        FrameError,
        MessageDecodeError,
        MessageEncodeError,
        MessageValidationError,
        OversizedMessageError,
        PluginError,
        PluginLoadError,
        ProtocolError,
        PyWattError,
        UnknownComponentError,
        UnknownOpError,
    )
    from pywatt.core.logs import (
        JsonLogFormatter,
        RedactionFilter,
        configure_logging,
        describe_line,
        log_span,
    )
    from pywatt.core.messages import (
        EndpointInfo,
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
    from pywatt.core.module import ModuleContext, PyWattModule, ServeOptions, pywatt_module
    from pywatt.core.plugins import (
        PluginInfo,
        Plugins,
        Registry,
        get_plugins,
        lazy,
        reset_plugins,
    )
    from pywatt.core.redact import Redactor, register_secret, registered_count
    from pywatt.core.secrets import CacheMode, Secret, SecretClient
    from pywatt.core.state import AppState
    from pywatt.core.stdio_guard import claim_stdout, release_stdout

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
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
    "FrameError": "pywatt.core.errors",
    "MessageDecodeError": "pywatt.core.errors",
    "MessageEncodeError": "pywatt.core.errors",
    "MessageValidationError": "pywatt.core.errors",
    "OversizedMessageError": "pywatt.core.errors",
    "ProtocolError": "pywatt.core.errors",
    "UnknownOpError": "pywatt.core.errors",
    "BuildInfo": "pywatt.core.buildinfo",
    "build_info": "pywatt.core.buildinfo",
    "JsonLogFormatter": "pywatt.core.logs",
    "RedactionFilter": "pywatt.core.logs",
    "configure_logging": "pywatt.core.logs",
    "describe_line": "pywatt.core.logs",
    "log_span": "pywatt.core.logs",
    "Redactor": "pywatt.core.redact",
    "register_secret": "pywatt.core.redact",
    "registered_count": "pywatt.core.redact",
    "claim_stdout": "pywatt.core.stdio_guard",
    "release_stdout": "pywatt.core.stdio_guard",
    "AppConfig": "pywatt.core.config",
    "AppState": "pywatt.core.state",
    "Encoder": "pywatt.core.encoders",
    "JsonEncoder": "pywatt.core.encoders",
    "PyWattError": "pywatt.core.errors",
    "PluginError": "pywatt.core.errors",
    "PluginLoadError": "pywatt.core.errors",
    "DuplicateComponentError": "pywatt.core.errors",
    "UnknownComponentError": "pywatt.core.errors",
    "PluginInfo": "pywatt.core.plugins",
    "Plugins": "pywatt.core.plugins",
    "Registry": "pywatt.core.plugins",
    "get_plugins": "pywatt.core.plugins",
    "lazy": "pywatt.core.plugins",
    "reset_plugins": "pywatt.core.plugins",
    "PyWattModule": "pywatt.core.module",
    "ServeOptions": "pywatt.core.module",
    "EndpointInfo": "pywatt.core.messages",
    "pywatt_module": "pywatt.core.module",
    "ModuleContext": "pywatt.core.module",
    "Secret": "pywatt.core.secrets",
    "SecretClient": "pywatt.core.secrets",
    "CacheMode": "pywatt.core.secrets",
}

__all__ = [
    "AppConfig",
    "AppState",
    "BuildInfo",
    "CacheMode",
    "DuplicateComponentError",
    "EncodedMessage",
    "Encoder",
    "EncodingFormat",
    "EndpointInfo",
    "FrameDecoder",
    "FrameError",
    "InitBlob",
    "JsonEncoder",
    "JsonLogFormatter",
    "ListenAddress",
    "Message",
    "MessageDecodeError",
    "MessageEncodeError",
    "MessageMetadata",
    "MessageValidationError",
    "ModuleContext",
    "ModuleToOrchestrator",
    "OrchestratorToModule",
    "OversizedMessageError",
    "PluginError",
    "PluginInfo",
    "PluginLoadError",
    "Plugins",
    "ProtocolError",
    "PyWattError",
    "PyWattModule",
    "RedactionFilter",
    "Redactor",
    "Registry",
    "Secret",
    "SecretClient",
    "ServeOptions",
    "StdioHttpResponse",
    "UnknownComponentError",
    "UnknownOpError",
    "__version__",
    "build_info",
    "claim_stdout",
    "configure_logging",
    "decode_envelope",
    "decode_init",
    "decode_m2o",
    "decode_module_line",
    "decode_o2m",
    "describe_line",
    "encode",
    "encode_envelope",
    "encode_frame",
    "frame_payload_to_json",
    "get_plugins",
    "hookimpl",
    "lazy",
    "log_span",
    "parse_listen_address",
    "pywatt_module",
    "register_secret",
    "registered_count",
    "release_stdout",
    "reset_plugins",
    "stdio_http_response",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pywatt.core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
