"""pytest fixtures for module authors, registered through the ``pytest11`` entry point.

``pywatt_module_factory("app.py", secrets={...})`` runs the module as a real subprocess under
the dev orchestrator; mark the test ``@pytest.mark.anyio`` (anyio's own pytest plugin runs it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pywatt.cli.orchestrator import ModuleHandle, Orchestrator

__all__ = ["pywatt_module_factory", "pywatt_orchestrator", "pywatt_secrets", "run_module"]

ModuleFactory = Callable[..., Awaitable["ModuleHandle"]]


def run_module(path: str | Path, **kwargs: Any) -> Any:
    """Synchronous ``with run_module("app.py", secrets={...}) as mod:`` (see the docs)."""
    from pywatt.cli.orchestrator import run_module as _run_module

    return _run_module(path, **kwargs)


@pytest.fixture
def pywatt_secrets() -> dict[str, str]:
    """Secrets the orchestrator answers ``get_secret`` with; fill it before starting modules."""
    return {}


@pytest.fixture
async def pywatt_orchestrator(
    anyio_backend: Any, pywatt_secrets: dict[str, str]
) -> AsyncIterator[Orchestrator]:
    """A running dev orchestrator; every module it started is stopped at teardown."""
    from pywatt.cli.orchestrator import Orchestrator, SecretSource

    async with Orchestrator(SecretSource.from_mapping(pywatt_secrets)) as orchestrator:
        yield orchestrator


@pytest.fixture
async def pywatt_module_factory(
    pywatt_orchestrator: Orchestrator, pywatt_secrets: dict[str, str]
) -> AsyncIterator[ModuleFactory]:
    """``await factory("app.py", secrets={...}, env={...})`` → a started ``ModuleHandle``."""
    from pywatt.cli.orchestrator import ModuleSpec

    async def factory(
        path: str | Path,
        *,
        secrets: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        **spec_options: Any,
    ) -> ModuleHandle:
        pywatt_secrets.update(secrets or {})
        spec = ModuleSpec.for_script(path, env=dict(env or {}), **spec_options)
        return await pywatt_orchestrator.start(spec)

    yield factory
    await pywatt_orchestrator.stop_all()
