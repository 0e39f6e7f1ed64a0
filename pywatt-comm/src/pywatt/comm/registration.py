"""The module registration protocol (§7.2): register, heartbeats, capabilities, unregister.

Not used by bootstrap: a module that wants a registration-based orchestrator calls
:func:`register_module` itself. Each request is an envelope with a fresh ``metadata.id`` and
the reply is the next frame, a bare struct tagged with ``response_type``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field, ValidationError

from pywatt.comm.connection import ConnectionConfig, RequestConnection
from pywatt.core.errors import ChannelError, PyWattError

__all__ = [
    "HEARTBEAT_INTERVAL",
    "Capabilities",
    "EndpointCapability",
    "HealthStatus",
    "ModuleInfo",
    "RegisteredModule",
    "Registration",
    "RegistrationError",
    "register_module",
]

logger = logging.getLogger("pywatt.comm.registration")

#: Seconds between heartbeats; the first is sent at once.
HEARTBEAT_INTERVAL = 30.0

HealthStatus = Literal["Healthy", "Degraded", "Unhealthy"]


def _none(value: object) -> bool:
    return value is None


class RegistrationError(PyWattError):
    """The orchestrator refused a registration request or answered it wrongly."""


class ModuleInfo(BaseModel):
    name: str
    version: str
    description: str
    id: uuid.UUID | None = Field(default=None, exclude_if=_none)
    metadata: dict[str, str] | None = Field(default=None, exclude_if=_none)


class EndpointCapability(BaseModel):
    path: str
    methods: list[str]
    auth: str | None = Field(default=None, exclude_if=_none)
    metadata: dict[str, str] | None = Field(default=None, exclude_if=_none)


class Capabilities(BaseModel):
    endpoints: list[EndpointCapability]
    message_types: list[str] | None = Field(default=None, exclude_if=_none)
    additional_capabilities: dict[str, Any] | None = Field(default=None, exclude_if=_none)


class RegisteredModule(BaseModel):
    info: ModuleInfo
    id: uuid.UUID
    token: str
    orchestrator_host: str
    orchestrator_port: int = Field(ge=0, le=65535)
    env: dict[str, str] | None = None
    additional_data: dict[str, Any] | None = None


class _Register(BaseModel):
    request_type: Literal["register"] = "register"
    module_info: ModuleInfo


class _Heartbeat(BaseModel):
    request_type: Literal["heartbeat"] = "heartbeat"
    module_id: uuid.UUID
    token: str
    status: HealthStatus
    details: dict[str, str] | None = Field(default=None, exclude_if=_none)


class _Capabilities(BaseModel):
    request_type: Literal["capabilities"] = "capabilities"
    module_id: uuid.UUID
    token: str
    capabilities: Capabilities


class _Unregister(BaseModel):
    request_type: Literal["unregister"] = "unregister"
    module_id: uuid.UUID
    token: str


class _Reply(BaseModel):
    response_type: str
    success: bool
    error: str | None = None
    module: RegisteredModule | None = None
    status: str | None = None


class Registration:
    """A registered module: heartbeats, capabilities and unregister on its connection."""

    def __init__(self, module: RegisteredModule, conn: RequestConnection) -> None:
        self.module = module
        self._conn = conn
        #: Heartbeats sent and failed, for diagnostics and tests.
        self.heartbeats = 0
        self.heartbeat_failures = 0
        self.status: HealthStatus = "Healthy"

    async def heartbeat(self, details: dict[str, str] | None = None) -> str | None:
        """One heartbeat with the current :attr:`status`; the orchestrator's status back."""
        msg = _Heartbeat(
            module_id=self.module.id, token=self.module.token, status=self.status, details=details
        )
        reply = await _ask(self._conn, msg, "heartbeat")
        return reply.status

    async def heartbeat_loop(self, interval: float = HEARTBEAT_INTERVAL) -> None:
        """Heartbeat now and every ``interval`` seconds until cancelled; failures only log."""
        while True:
            try:
                await self.heartbeat()
                self.heartbeats += 1
            except (ChannelError, RegistrationError) as exc:
                self.heartbeat_failures += 1
                logger.warning("heartbeat for module %s failed: %s", self.module.id, exc)
            await anyio.sleep(interval)

    async def advertise(self, capabilities: Capabilities) -> None:
        """Send this module's endpoints and message types."""
        msg = _Capabilities(
            module_id=self.module.id, token=self.module.token, capabilities=capabilities
        )
        await _ask(self._conn, msg, "capabilities")

    async def unregister(self) -> None:
        """Unregister and close the connection."""
        try:
            msg = _Unregister(module_id=self.module.id, token=self.module.token)
            await _ask(self._conn, msg, "unregister")
        finally:
            await self._conn.aclose()

    async def serve(self, interval: float = HEARTBEAT_INTERVAL) -> None:
        """Heartbeat until cancelled, then unregister cleanly (the module is shutting down)."""
        try:
            await self.heartbeat_loop(interval)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                try:
                    await self.unregister()
                except (ChannelError, RegistrationError) as exc:
                    logger.warning("unregister of module %s failed: %s", self.module.id, exc)


async def register_module(config: ConnectionConfig, info: ModuleInfo) -> Registration:
    """Register ``info`` with the orchestrator at ``config``; the connection stays open.

    :raises RegistrationError: refused ("Unknown error" without a reason), or a reply with no
        module ("No module information in response").
    """
    conn = RequestConnection(config, "module registration")
    try:
        reply = await _ask(conn, _Register(module_info=info), "register")
        if reply.module is None:
            raise RegistrationError("No module information in response")
    except BaseException:
        await conn.aclose()
        raise
    return Registration(reply.module, conn)


async def _ask(conn: RequestConnection, msg: BaseModel, kind: str) -> _Reply:
    data = await conn.request(msg)
    try:
        reply = _Reply.model_validate_json(data)
    except ValidationError as exc:
        raise RegistrationError(f"Invalid {kind} response: {exc.errors()[0]['msg']}") from exc
    if reply.response_type != kind:
        raise RegistrationError(f"Unexpected response type: {reply.response_type}")
    if not reply.success:
        raise RegistrationError(reply.error or "Unknown error")
    return reply
