"""pywatt-cli: the ``pywatt`` command."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pywatt.cli.main import cli, main

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
_LAZY: dict[str, str] = {
    "cli": "pywatt.cli.main",
    "main": "pywatt.cli.main",
}

__all__ = ["cli", "main"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
