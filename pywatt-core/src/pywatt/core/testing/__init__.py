"""Test helpers for pywatt and for module authors. Imported only by tests."""

from __future__ import annotations

from pywatt.core.testing.scripted import DEFAULT_INIT, ScriptedOrchestrator
from pywatt.core.testing.servers import require_server, server_reachable

__all__ = ["DEFAULT_INIT", "ScriptedOrchestrator", "require_server", "server_reachable"]
