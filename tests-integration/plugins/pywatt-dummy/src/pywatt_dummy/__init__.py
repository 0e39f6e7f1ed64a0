"""A third-party pywatt plugin: a ROT13 text encoder and a ``pywatt dummy-hello`` command."""

from __future__ import annotations
