"""``serve_module``: the whole module lifecycle in one call.

Bootstrap, secrets, state, app, bind, announce, serve over stdio and the socket, drain,
shutdown. The engine is pywatt-core's; this module makes sure a framework adapter is
installed and gives the call its familiar shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from pywatt.core.module import PyWattModule, Secrets, ServeOptions

if TYPE_CHECKING:
    from pywatt.core.config import AppConfig
    from pywatt.core.messages import EndpointInfo
    from pywatt.core.secrets import Secret
    from pywatt.core.state import AppState

__all__ = ["ServeOptions", "build_module", "serve_module", "serve_module_async"]


def build_module(
    app_builder: Callable[[AppState[Any]], Any],
    *,
    secrets: Secrets = (),
    endpoints: Sequence[EndpointInfo] | None = None,
    state_builder: Callable[[AppConfig, dict[str, Secret[str]]], Any] | None = None,
    framework: str | None = None,
    options: ServeOptions | None = None,
) -> PyWattModule[Any]:
    """The module :func:`serve_module` runs, for tests that drive it in-process."""
    opts = options or ServeOptions()
    if framework is not None:
        opts = dataclasses.replace(opts, framework=framework)
    return PyWattModule(
        app_builder, secrets=secrets, endpoints=endpoints, state=state_builder, options=opts
    )


def serve_module(
    app_builder: Callable[[AppState[Any]], Any],
    *,
    secrets: Secrets = (),
    endpoints: Sequence[EndpointInfo] | None = None,
    state_builder: Callable[[AppConfig, dict[str, Secret[str]]], Any] | None = None,
    framework: str | None = None,
    options: ServeOptions | None = None,
) -> NoReturn:
    """Run a module on this process's stdin/stdout until the orchestrator stops it.

    :param app_builder: ``(state) -> app``; a Starlette/FastAPI or Flask app (or any app a
        registered server adapter supports).
    :param secrets: secret names fetched before the state is built, or a mapping of name to
        a default used when the orchestrator does not supply it (``None``: required).
    :param endpoints: announced endpoints; by default they are read from the app's routes.
    :param state_builder: ``(config, secrets) -> user state``, sync or async.
    :param framework: adapter name (``"starlette"``, ``"flask"``); by default detected.
    :param options: socket, port and shutdown settings.
    """
    build_module(
        app_builder,
        secrets=secrets,
        endpoints=endpoints,
        state_builder=state_builder,
        framework=framework,
        options=options,
    ).run()


async def serve_module_async(
    app_builder: Callable[[AppState[Any]], Any],
    *,
    secrets: Secrets = (),
    endpoints: Sequence[EndpointInfo] | None = None,
    state_builder: Callable[[AppConfig, dict[str, Secret[str]]], Any] | None = None,
    framework: str | None = None,
    options: ServeOptions | None = None,
) -> int:
    """:func:`serve_module` inside a running event loop: returns the exit status on stop.

    The parameters are :func:`serve_module`'s.
    """
    module = build_module(
        app_builder,
        secrets=secrets,
        endpoints=endpoints,
        state_builder=state_builder,
        framework=framework,
        options=options,
    )
    return await module.serve_async()
