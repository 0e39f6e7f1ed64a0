"""The module's configuration, as the orchestrator and the environment give it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pywatt.core.messages import InitBlob

__all__ = ["BROKER_URL_ENV", "AppConfig"]

#: The environment variable (or secret) naming the broker a module connects to; here rather
#: than in :mod:`pywatt.core.brokers` so that a module with no broker need not import that.
BROKER_URL_ENV = "PYWATT_BROKER_URL"


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class AppConfig:
    """What a module knows about itself once the init handshake is read."""

    module_id: str
    orchestrator_api: str = ""
    listen: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    ipc_only: bool = False

    @classmethod
    def from_init(cls, init: InitBlob, environ: Mapping[str, str] | None = None) -> AppConfig:
        """``IPC_ONLY``/``PYWATT_IPC_ONLY`` from the environment or ``init.env`` select IPC only."""
        environ = os.environ if environ is None else environ
        ipc_only = any(
            _truthy(src.get(key))
            for src in (environ, init.env)
            for key in ("IPC_ONLY", "PYWATT_IPC_ONLY")
        )
        return cls(
            module_id=init.module_id,
            orchestrator_api=init.orchestrator_api,
            listen=str(init.listen),
            env=dict(init.env),
            ipc_only=ipc_only,
        )
