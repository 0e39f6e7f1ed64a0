"""pywatt-cli: the ``pywatt`` command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.core.exports import lazy_exports

if TYPE_CHECKING:
    from pywatt.cli.main import cli as cli

# Names load on first use, so discovering this distribution's plugin (which imports the
# package) costs nothing until a component is actually used. The console script's ``main`` is
# not re-exported: importing the ``pywatt.cli.main`` submodule would rebind that name to it.
__getattr__, __dir__, __all__ = lazy_exports(__name__, {"pywatt.cli.main": "cli"})
