"""pywatt-cli: the ``pywatt`` command."""

from __future__ import annotations

from pywatt.cli.main import cli, main

__all__ = ["cli", "main"]
