"""pywatt-core: the protocol, bootstrap, secrets, logging and plugin system of PyWatt modules.

Importing this package is cheap: submodules load on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
    from pywatt.core.buildinfo import BuildInfo as BuildInfo, build_info as build_info
    from pywatt.core.config import AppConfig as AppConfig
    from pywatt.core.contracts import (
        EXACT_MATCH as EXACT_MATCH,
        GENERIC_MATCH as GENERIC_MATCH,
        AppRunner as AppRunner,
        BrokerFactory as BrokerFactory,
        CacheBackend as CacheBackend,
        ChannelHost as ChannelHost,
        Command as Command,
        DatabaseBackend as DatabaseBackend,
        Encoder as Encoder,
        HttpExchangeRequest as HttpExchangeRequest,
        HttpExchangeResponse as HttpExchangeResponse,
        Lazy as Lazy,
        ModuleChannel as ModuleChannel,
        RegisterAuthenticator as RegisterAuthenticator,
        RegisterBroker as RegisterBroker,
        RegisterCacheBackend as RegisterCacheBackend,
        RegisterChannel as RegisterChannel,
        RegisterCommand as RegisterCommand,
        RegisterDatabaseBackend as RegisterDatabaseBackend,
        RegisterEncoder as RegisterEncoder,
        RegisterModelDialect as RegisterModelDialect,
        RegisterServerAdapter as RegisterServerAdapter,
        ServerAdapter as ServerAdapter,
        lazy as lazy,
    )
    from pywatt.core.encoders import JsonEncoder as JsonEncoder
    from pywatt.core.errors import (
        BrokerError as BrokerError,
        BrokerTimeoutError as BrokerTimeoutError,
        CacheBackendError as CacheBackendError,
        CacheError as CacheError,
        CacheKeyError as CacheKeyError,
        CacheTypeError as CacheTypeError,
        CacheValueError as CacheValueError,
        ChannelClosedError as ChannelClosedError,
        ChannelError as ChannelError,
        ConfigError as ConfigError,
        DuplicateComponentError as DuplicateComponentError,
        FrameError as FrameError,
        InitError as InitError,
        MessageDecodeError as MessageDecodeError,
        MessageEncodeError as MessageEncodeError,
        MessageValidationError as MessageValidationError,
        OversizedMessageError as OversizedMessageError,
        PluginError as PluginError,
        PluginLoadError as PluginLoadError,
        PortNegotiationError as PortNegotiationError,
        ProtocolError as ProtocolError,
        PyWattError as PyWattError,
        RouteTimeoutError as RouteTimeoutError,
        SecretError as SecretError,
        SecretNotFoundError as SecretNotFoundError,
        SecretTimeoutError as SecretTimeoutError,
        SecretTypeError as SecretTypeError,
        ServerError as ServerError,
        ServiceError as ServiceError,
        ServiceTimeoutError as ServiceTimeoutError,
        UnknownComponentError as UnknownComponentError,
        UnknownOpError as UnknownOpError,
    )
    from pywatt.core.hookspecs import hookimpl as hookimpl
    from pywatt.core.logs import (
        JsonLogFormatter as JsonLogFormatter,
        RedactionFilter as RedactionFilter,
        configure_logging as configure_logging,
        describe_line as describe_line,
        log_span as log_span,
    )
    from pywatt.core.messages import EndpointInfo as EndpointInfo
    from pywatt.core.module import (
        ModuleContext as ModuleContext,
        PyWattModule as PyWattModule,
        ServeOptions as ServeOptions,
        pywatt_module as pywatt_module,
    )
    from pywatt.core.plugins import (
        PluginInfo as PluginInfo,
        Plugins as Plugins,
        Registry as Registry,
        get_plugins as get_plugins,
        reset_plugins as reset_plugins,
    )
    from pywatt.core.redact import (
        Redactor as Redactor,
        register_secret as register_secret,
        registered_count as registered_count,
    )
    from pywatt.core.secrets import (
        CacheMode as CacheMode,
        Secret as Secret,
        SecretClient as SecretClient,
    )
    from pywatt.core.state import AppState as AppState
    from pywatt.core.stdio_guard import (
        claim_stdout as claim_stdout,
        release_stdout as release_stdout,
    )

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "pywatt.core.buildinfo": "build_info BuildInfo",
        "pywatt.core.config": "AppConfig",
        "pywatt.core.contracts": (
            "AppRunner BrokerFactory CacheBackend ChannelHost Command DatabaseBackend Encoder "
            "EXACT_MATCH GENERIC_MATCH HttpExchangeRequest HttpExchangeResponse Lazy lazy "
            "ModuleChannel RegisterAuthenticator RegisterBroker RegisterCacheBackend "
            "RegisterChannel RegisterCommand RegisterDatabaseBackend RegisterEncoder "
            "RegisterModelDialect RegisterServerAdapter ServerAdapter"
        ),
        "pywatt.core.encoders": "JsonEncoder",
        "pywatt.core.errors": (
            "BrokerError BrokerTimeoutError CacheBackendError CacheError CacheKeyError "
            "CacheTypeError CacheValueError ChannelClosedError ChannelError ConfigError "
            "DuplicateComponentError FrameError InitError MessageDecodeError MessageEncodeError "
            "MessageValidationError OversizedMessageError PluginError PluginLoadError "
            "PortNegotiationError ProtocolError PyWattError RouteTimeoutError SecretError "
            "SecretNotFoundError SecretTimeoutError SecretTypeError ServerError ServiceError "
            "ServiceTimeoutError UnknownComponentError UnknownOpError"
        ),
        "pywatt.core.hookspecs": "hookimpl",
        "pywatt.core.logs": (
            "configure_logging describe_line JsonLogFormatter log_span RedactionFilter"
        ),
        "pywatt.core.messages": "EndpointInfo",
        "pywatt.core.module": "ModuleContext pywatt_module PyWattModule ServeOptions",
        "pywatt.core.plugins": "get_plugins PluginInfo Plugins Registry reset_plugins",
        "pywatt.core.redact": "Redactor register_secret registered_count",
        "pywatt.core.secrets": "CacheMode Secret SecretClient",
        "pywatt.core.state": "AppState",
        "pywatt.core.stdio_guard": "claim_stdout release_stdout",
    },
    ("__version__",),
)
