"""A dev orchestrator: run modules as subprocesses and play the orchestrator's side of the wire.

Used by ``pywatt run``, by the pytest plugin and by end-to-end tests.
"""

from __future__ import annotations

from pywatt.cli.orchestrator.blocking import BlockingModule, run_module
from pywatt.cli.orchestrator.errors import (
    ModuleCrashed,
    ModuleStartError,
    ModuleTimeoutError,
    ModuleUnavailable,
    OrchestratorError,
)
from pywatt.cli.orchestrator.handle import ModuleHandle, OrchestratorHttpResponse
from pywatt.cli.orchestrator.module_logs import ModuleLog, parse_stderr_line, print_log
from pywatt.cli.orchestrator.orchestrator import Orchestrator
from pywatt.cli.orchestrator.secret_source import SecretSource
from pywatt.cli.orchestrator.service_backends import ServiceBackends
from pywatt.cli.orchestrator.spec import ModuleSpec
from pywatt.core.messages import REPLY_ENDPOINT, EndpointInfo, RotationAck

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
