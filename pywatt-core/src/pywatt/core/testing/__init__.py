"""Test helpers for pywatt and for module authors. Imported only by tests."""

from __future__ import annotations

from pywatt.core.testing.services import require_server, server_reachable

__all__ = ["require_server", "server_reachable"]
