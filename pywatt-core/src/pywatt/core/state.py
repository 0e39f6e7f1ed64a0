"""Application state handed to every handler of a module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pywatt.core.config import AppConfig

__all__ = ["AppState"]

T = TypeVar("T")


@dataclass
class AppState(Generic[T]):
    """The module's configuration, the user's own state, and the SDK services it may use.

    ``user`` is whatever the module's state builder returned. ``extensions`` lets plugins
    attach their clients (a database, a cache) under a name without subclassing.
    """

    config: AppConfig
    user: T
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def module_id(self) -> str:
        return self.config.module_id
