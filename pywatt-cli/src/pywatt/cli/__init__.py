"""pywatt-cli: the ``pywatt`` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
    from pywatt.cli.main import cli, main

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used.
_LAZY: dict[str, str] = {
    "cli": "pywatt.cli.main",
    "main": "pywatt.cli.main",
}

__all__ = ["cli", "main"]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
