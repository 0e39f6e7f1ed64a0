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
    from pywatt.core.errors import (
        DuplicateComponentError,
        PluginError,
        PluginLoadError,
        PyWattError,
        UnknownComponentError,
    )
    from pywatt.core.logs import (
        JsonLogFormatter,
        RedactionFilter,
        configure_logging,
        describe_line,
        log_span,
    )
    from pywatt.core.module import ModuleContext, PyWattModule, ServeOptions, pywatt_module
    from pywatt.core.plugins import PluginInfo, Plugins, Registry, get_plugins, reset_plugins
    from pywatt.core.redact import Redactor, redact, register_secret, registered_count
    from pywatt.core.secrets import CacheMode, Secret, SecretClient
    from pywatt.core.state import AppState
    from pywatt.core.stdio_guard import claim_stdout, release_stdout

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "BuildInfo": "pywatt.core.buildinfo",
    "build_info": "pywatt.core.buildinfo",
    "JsonLogFormatter": "pywatt.core.logs",
    "RedactionFilter": "pywatt.core.logs",
    "configure_logging": "pywatt.core.logs",
    "describe_line": "pywatt.core.logs",
    "log_span": "pywatt.core.logs",
    "Redactor": "pywatt.core.redact",
    "redact": "pywatt.core.redact",
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
    "reset_plugins": "pywatt.core.plugins",
    "PyWattModule": "pywatt.core.module",
    "ServeOptions": "pywatt.core.module",
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
    "Encoder",
    "JsonEncoder",
    "JsonLogFormatter",
    "ModuleContext",
    "PluginError",
    "PluginInfo",
    "PluginLoadError",
    "Plugins",
    "PyWattError",
    "PyWattModule",
    "RedactionFilter",
    "Redactor",
    "Registry",
    "Secret",
    "SecretClient",
    "ServeOptions",
    "UnknownComponentError",
    "__version__",
    "build_info",
    "claim_stdout",
    "configure_logging",
    "describe_line",
    "get_plugins",
    "hookimpl",
    "log_span",
    "pywatt_module",
    "redact",
    "register_secret",
    "registered_count",
    "release_stdout",
    "reset_plugins",
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
