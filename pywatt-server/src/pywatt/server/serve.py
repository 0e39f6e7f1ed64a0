"""``serve_module``: a thin alias of pywatt-core's module API, for one-call modules.

``serve_module(create_app, secrets=[...])`` is exactly ``PyWattModule(create_app, secrets=[...])
.run()``, with the same keyword names (``secrets``, ``endpoints``, ``state``, ``options``). To
drive the module in-process or from a running event loop, build the ``PyWattModule`` and call
``run()`` or ``await module.serve_async()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from pywatt.core.module import PyWattModule, Secrets, ServeOptions, StateBuilder

if TYPE_CHECKING:
    from pywatt.core.messages import EndpointInfo
    from pywatt.core.state import AppState

__all__ = ["ServeOptions", "serve_module"]


def serve_module(
    app_factory: Callable[[AppState[Any]], Any],
    *,
    secrets: Secrets = (),
    endpoints: Sequence[EndpointInfo] | None = None,
    state: StateBuilder | None = None,
    options: ServeOptions | None = None,
    health: bool | str = True,
    metrics: bool | str | None = None,
    version: str | None = None,
) -> NoReturn:
    """Run a module on this process's stdin/stdout until the orchestrator stops it.

    The keywords are :class:`~pywatt.core.PyWattModule`'s: ``secrets`` (names, or a mapping
    of name to default), ``endpoints`` (default: read from the app's routes), ``state``
    (``(config, secrets) -> user state``, sync or async) and ``options`` (socket, port,
    framework and shutdown settings); ``health``, ``metrics`` and ``version`` are
    :func:`~pywatt.core.pywatt_module`'s.
    """
    PyWattModule(
        app_factory,
        secrets=secrets,
        endpoints=endpoints,
        state=state,
        options=options,
        health=health,
        metrics=metrics,
        version=version,
    ).run()
