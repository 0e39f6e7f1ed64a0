"""``run_module``: the dev orchestrator from synchronous code (plain tests, scripts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

if TYPE_CHECKING:
    from pywatt.cli.orchestrator.handle import ModuleHandle, OrchestratorHttpResponse
    from pywatt.core.messages import RotationAck

__all__ = ["BlockingModule", "run_module"]

T = TypeVar("T")


class BlockingModule:
    """A running module driven from a thread; each call blocks until the module answered."""

    def __init__(self, portal: BlockingPortal, handle: ModuleHandle) -> None:
        self.portal = portal
        self.handle = handle

    def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return self.portal.call(fn, *args)

    def http(
        self,
        method: str,
        uri: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        timeout: float = 30.0,
    ) -> OrchestratorHttpResponse:
        return self.portal.call(self.handle.http, method, uri, headers, body, timeout)

    def rotate(self, values: dict[str, str], timeout: float = 5.0) -> RotationAck:
        return self.portal.call(self.handle.rotate, values, timeout)

    def stop(self, timeout: float = 10.0) -> int:
        return self.portal.call(self.handle.stop, timeout)


@contextmanager
def run_module(
    path: str | Path,
    *,
    secrets: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    **spec_options: Any,
) -> Iterator[BlockingModule]:
    """``with run_module("app.py", secrets={...}) as mod: mod.http("GET", "/")``."""
    from pywatt.cli.orchestrator.orchestrator import Orchestrator
    from pywatt.cli.orchestrator.secret_source import SecretSource
    from pywatt.cli.orchestrator.spec import ModuleSpec

    spec = ModuleSpec.for_script(path, env=dict(env or {}), **spec_options)
    orchestrator = Orchestrator(SecretSource.from_dict(dict(secrets or {})))
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(orchestrator) as orch,
    ):
        yield BlockingModule(portal, portal.call(orch.start, spec))
