"""The dev orchestrator: runs modules as subprocesses and speaks the orchestrator's side."""

from __future__ import annotations

import contextlib
import socket
import tempfile
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from pywatt.cli.orchestrator._channel_router import ChannelRouter
from pywatt.cli.orchestrator._discovery_registry import DiscoveryRegistry
from pywatt.cli.orchestrator.errors import ModuleTimeoutError, ModuleUnavailable
from pywatt.cli.orchestrator.handle import ModuleHandle, OrchestratorHttpResponse
from pywatt.cli.orchestrator.module_logs import ModuleLog, print_log
from pywatt.cli.orchestrator.secret_source import SecretSource
from pywatt.cli.orchestrator.service_backends import ServiceBackends
from pywatt.core.errors import ConfigError

if TYPE_CHECKING:
    from pywatt.cli.orchestrator.spec import ModuleSpec

__all__ = ["Orchestrator"]

LogSink = Callable[[ModuleLog], None]


class Orchestrator:
    """``async with Orchestrator(secrets) as orch: handle = await orch.start(spec)``.

    Leaving the block stops every module gracefully (SIGKILL after 10 s).
    """

    def __init__(
        self,
        secrets: SecretSource | None = None,
        *,
        services: ServiceBackends | None = None,
        log_sink: LogSink | None = None,
        orchestrator_api: str = "http://127.0.0.1:9900",
        stop_timeout: float = 10.0,
        broker_url: str | None = None,
    ) -> None:
        self.secrets = secrets if secrets is not None else SecretSource()
        self.services = services if services is not None else ServiceBackends()
        if self.services.secrets is None:
            self.services.secrets = self.secrets
        self.log_sink: LogSink = log_sink if log_sink is not None else print_log
        self.orchestrator_api = orchestrator_api
        self.stop_timeout = stop_timeout
        #: Handed to every module as ``PYWATT_BROKER_URL`` (env and ``init.env``).
        self.broker_url = broker_url
        self.modules: dict[str, ModuleHandle] = {}
        self._router = ChannelRouter(self)
        self.discovery = DiscoveryRegistry(self)
        self._tg: TaskGroup | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._ports: set[int] = set()
        self._closing = False

    @property
    def _task_group(self) -> TaskGroup:
        if self._tg is None:
            raise ConfigError("use the orchestrator as 'async with Orchestrator() as orch'")
        return self._tg

    async def __aenter__(self) -> Orchestrator:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None
        self._closing = True
        tg = self._tg
        try:
            with anyio.CancelScope(shield=True):
                await self.stop_all()
                await self._router.aclose()
                await self.services.aclose()
        finally:
            tg.cancel_scope.cancel()
            self._tg = None
            if self._tempdir is not None:
                self._tempdir.cleanup()
        return await tg.__aexit__(exc_type, exc, tb)

    async def start(self, spec: ModuleSpec) -> ModuleHandle:
        """Spawn the module and return once it announced (``ModuleStartError`` otherwise)."""
        previous = self.modules.get(spec.module_id)
        if previous is not None and previous.active:
            raise ConfigError(f"a module with id {spec.module_id!r} is already running")
        spec = self._with_broker(spec)
        handle = ModuleHandle(spec, self)
        self.modules[spec.module_id] = handle
        try:
            await handle._launch()
        except BaseException:
            if previous is None:
                del self.modules[spec.module_id]
            else:
                self.modules[spec.module_id] = previous
            raise
        return handle

    def _with_broker(self, spec: ModuleSpec) -> ModuleSpec:
        from dataclasses import replace

        from pywatt.core.brokers import BROKER_URL_ENV

        if self.broker_url is None or BROKER_URL_ENV in spec.env:
            return spec
        others = [h.module_id for h in self.modules.values() if h.active]
        if others and spec.module_id not in others and not broker_is_shared(self.broker_url):
            scheme = self.broker_url.partition(":")[0]
            raise ConfigError(
                f"a {scheme}:// broker lives inside one process, so {spec.module_id!r} would not "
                f"share messages with {others[0]!r}; use nats:// or redis:// for several modules"
            )
        return replace(spec, env={**spec.env, BROKER_URL_ENV: self.broker_url})

    async def stop_all(self, timeout: float | None = None) -> dict[str, int]:
        """Stop every module at once; their exit codes by module id."""
        codes: dict[str, int] = {}

        async def stop_one(handle: ModuleHandle) -> None:
            with contextlib.suppress(ModuleUnavailable):
                codes[handle.module_id] = await handle.stop(
                    self.stop_timeout if timeout is None else timeout
                )

        async with anyio.create_task_group() as tg:
            for handle in list(self.modules.values()):
                tg.start_soon(stop_one, handle)
        return codes

    def get(self, module_id: str) -> ModuleHandle:
        try:
            return self.modules[module_id]
        except KeyError:
            known = ", ".join(sorted(self.modules)) or "none"
            raise ModuleUnavailable(f"no module {module_id!r}; running: {known}") from None

    async def http_via_socket(
        self,
        module_id: str,
        method: str,
        uri: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        timeout: float = 30.0,
    ) -> OrchestratorHttpResponse:
        """One HTTP exchange over the socket the module announced."""
        import httpx

        handle = self.get(module_id)
        handle._require_running()
        address = handle.http_address
        if address is None or (isinstance(address, tuple) and address[1] == 0):
            raise ModuleUnavailable(f"module {module_id!r} announced no socket ({handle.listen})")
        if isinstance(address, tuple):
            transport = httpx.AsyncHTTPTransport()
            base = f"http://{address[0]}:{address[1]}"
        else:
            transport = httpx.AsyncHTTPTransport(uds=address)
            base = "http://module"
        async with httpx.AsyncClient(transport=transport, base_url=base, timeout=timeout) as client:
            try:
                reply = await client.request(method, uri, headers=headers, content=body)
            except httpx.TimeoutException as exc:
                raise ModuleTimeoutError(f"{method} {uri} timed out after {timeout:g} s") from exc
            except httpx.TransportError as exc:
                raise ModuleUnavailable(f"{method} {uri}: {exc}") from exc
        return OrchestratorHttpResponse(reply.status_code, dict(reply.headers), reply.content)

    async def send_frame(self, module_id: str, message: Any) -> bool:
        """Write a bare o→m frame to a module's TCP channel (tests use it for ``heartbeat``)."""
        return await self._router.send(module_id, message)

    async def wait_channel(self, module_id: str, timeout: float = 10.0) -> None:
        """Wait until the module connected its TCP channel."""
        await self._router.wait_connected(module_id, timeout)

    # -- helpers for handles --------------------------------------------------------------

    def _assign_listen(self, spec: ModuleSpec) -> str:
        if spec.listen == "unix":
            if self._tempdir is None:
                self._tempdir = tempfile.TemporaryDirectory(prefix="pywatt-orch-")
            return f"{self._tempdir.name}/{spec.module_id}.sock"
        return f"127.0.0.1:{self._allocate_port(None, spec.module_id)}"

    def _allocate_port(self, specific: int | None, module_id: str) -> int:
        if specific:
            if _port_free(specific):
                self._ports.add(specific)
                return specific
            self._report(module_id, "WARN", f"port {specific} is taken; allocating another")
        for _ in range(50):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in self._ports:
                self._ports.add(port)
                return port
        raise ConfigError("no free TCP port found on 127.0.0.1")

    def _emit(self, log: ModuleLog) -> None:
        try:
            self.log_sink(log)
        except Exception as exc:  # a broken sink must not stop the reader
            print_log(ModuleLog(log.module_id, f"log sink failed: {exc!r}"))

    def _report(self, module_id: str, level: str, message: str, **fields: Any) -> None:
        """An orchestrator-side event about a module, given to the log sink."""
        self._emit(
            ModuleLog(
                module_id=module_id,
                raw=message,
                level=level,
                message=message,
                target="orchestrator",
                fields=fields,
                is_json=True,
            )
        )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def broker_is_shared(url: str) -> bool:
    """Whether the broker ``url`` names is shared between processes (its ``shared`` flag).

    When no broker installed here serves the URL (the modules may have one this process
    lacks), only pywatt-comm's in-process ``memory://`` counts as not shared; a module
    reports any other unusable URL itself.
    """
    from pywatt.core.brokers import broker_for_url

    try:
        return bool(broker_for_url(url).shared)
    except ConfigError:
        return not url.startswith("memory:")
