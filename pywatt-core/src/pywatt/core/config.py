"""The module's configuration, as the orchestrator and the environment give it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["AppConfig"]


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
