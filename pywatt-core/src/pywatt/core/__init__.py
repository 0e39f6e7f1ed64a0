"""pywatt-core: the protocol, bootstrap, secrets, logging and plugin system of PyWatt modules.

Importing this package is cheap: submodules load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pywatt.core.plugins import hookimpl

if TYPE_CHECKING:
    from pywatt.core.config import AppConfig
    from pywatt.core.encoders import Encoder, JsonEncoder
    from pywatt.core.errors import (
        DuplicateComponentError,
        PluginError,
        PluginLoadError,
        PyWattError,
        UnknownComponentError,
    )
    from pywatt.core.module import ModuleContext, PyWattModule, ServeOptions, pywatt_module
    from pywatt.core.plugins import PluginInfo, Plugins, Registry, get_plugins, reset_plugins
    from pywatt.core.secrets import CacheMode, Secret, SecretClient
    from pywatt.core.state import AppState

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
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
    "CacheMode",
    "DuplicateComponentError",
    "Encoder",
    "JsonEncoder",
    "ModuleContext",
    "PluginError",
    "PluginInfo",
    "PluginLoadError",
    "Plugins",
    "PyWattError",
    "PyWattModule",
    "Registry",
    "Secret",
    "SecretClient",
    "ServeOptions",
    "UnknownComponentError",
    "__version__",
    "get_plugins",
    "hookimpl",
    "pywatt_module",
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
