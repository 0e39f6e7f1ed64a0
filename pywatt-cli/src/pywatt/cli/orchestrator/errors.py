"""Errors the dev orchestrator raises while it drives module processes."""

from __future__ import annotations

from pywatt.core.errors import PyWattError

__all__ = [
    "ModuleCrashed",
    "ModuleStartError",
    "ModuleTimeoutError",
    "ModuleUnavailable",
    "OrchestratorError",
]


class OrchestratorError(PyWattError):
    """The dev orchestrator could not drive a module."""


class ModuleStartError(OrchestratorError):
    """A module exited or stayed silent before announcing; the message has its last stderr."""


class ModuleUnavailable(OrchestratorError):
    """The module is not running (exited, stopped, or between restarts)."""


class ModuleCrashed(ModuleUnavailable):
    """The module exited without being asked to; carries its exit code and stderr tail."""

    def __init__(self, module_id: str, exit_code: int, stderr_tail: list[str]) -> None:
        self.module_id, self.exit_code, self.stderr_tail = module_id, exit_code, stderr_tail
        tail = "\n".join(f"  {line}" for line in stderr_tail) or "  (no stderr output)"
        super().__init__(f"module {module_id!r} exited with code {exit_code}; last stderr:\n{tail}")


class ModuleTimeoutError(OrchestratorError, TimeoutError):
    """The module did not answer a request (HTTP, rotation) within its deadline."""
