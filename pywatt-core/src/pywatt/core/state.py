"""Application state handed to every handler of a module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pywatt.core.config import AppConfig
from pywatt.core.errors import ConfigError

if TYPE_CHECKING:
    from pywatt.core.messaging import ModuleBroker
    from pywatt.core.ports import PortNegotiator
    from pywatt.core.secrets import SecretClient
    from pywatt.core.service_client import ServiceClient

__all__ = ["AppState"]

T = TypeVar("T")


@dataclass
class AppState(Generic[T]):
    """The module's configuration, the user's own state, and the SDK services it may use.

    ``user`` is whatever the module's state builder returned. ``extensions`` lets plugins
    attach their clients (a database, a channel) under a name without subclassing.
    """

    config: AppConfig
    user: T
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def module_id(self) -> str:
        return self.config.module_id

    def _extension(self, name: str) -> Any:
        try:
            return self.extensions[name]
        except KeyError:
            raise ConfigError(f"no {name!r} on this state: it exists in a running module") from None

    @property
    def secrets(self) -> SecretClient:
        """Fetch secrets (``await state.secrets.get("K")``) and subscribe to rotations."""
        client: SecretClient = self._extension("secrets")
        return client

    @property
    def services(self) -> ServiceClient:
        """Connections to services the orchestrator owns (PROTOCOL.md §7.3)."""
        client: ServiceClient = self._extension("services")
        return client

    @property
    def ports(self) -> PortNegotiator:
        """Ask the orchestrator for a port (PROTOCOL.md §7.1)."""
        negotiator: PortNegotiator = self._extension("ports")
        return negotiator

    @property
    def broker(self) -> ModuleBroker:
        """The module's message broker (``PYWATT_BROKER_URL``): publish, request, subscribe."""
        broker: ModuleBroker = self._extension("broker")
        return broker
