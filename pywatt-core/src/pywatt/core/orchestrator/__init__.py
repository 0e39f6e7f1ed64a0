"""A dev orchestrator: run modules as subprocesses and play the orchestrator's side of the wire.

Used by ``pywatt run``, by the pytest plugin and by end-to-end tests.
"""

from __future__ import annotations

from pywatt.core.errors import (
    ModuleCrashed,
    ModuleStartError,
    ModuleTimeoutError,
    ModuleUnavailable,
    OrchestratorError,
)
from pywatt.core.messages import EndpointInfo, RotationAck
from pywatt.core.orchestrator.blocking import BlockingModule, run_module
from pywatt.core.orchestrator.handle import ModuleHandle, OrchestratorHttpResponse
from pywatt.core.orchestrator.logs import ModuleLog, parse_stderr_line, print_log
from pywatt.core.orchestrator.orchestrator import Orchestrator
from pywatt.core.orchestrator.routing import REPLY_ENDPOINT
from pywatt.core.orchestrator.secrets import SecretSource
from pywatt.core.orchestrator.services import ServiceBackends
from pywatt.core.orchestrator.spec import ModuleSpec

__all__ = [
    "REPLY_ENDPOINT",
    "BlockingModule",
    "EndpointInfo",
    "ModuleCrashed",
    "ModuleHandle",
    "ModuleLog",
    "ModuleSpec",
    "ModuleStartError",
    "ModuleTimeoutError",
    "ModuleUnavailable",
    "Orchestrator",
    "OrchestratorError",
    "OrchestratorHttpResponse",
    "RotationAck",
    "SecretSource",
    "ServiceBackends",
    "parse_stderr_line",
    "print_log",
    "run_module",
]
