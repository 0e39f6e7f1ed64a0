"""Runtime checks of components against their contracts (:mod:`pywatt.core.contracts`).

Each check returns what a component is and why it breaks its kind's contract, or ``None``
when it fits. They look at shape only (attributes, callables, class or instance); what a
component does is what the conformance kits check.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = [
    "authenticator",
    "broker",
    "cache_backend",
    "channel",
    "command",
    "database_backend",
    "encoder",
    "model_dialect",
    "server_adapter",
]


def _what(component: object) -> str:
    if isinstance(component, type):
        return f"the class {component.__module__}.{component.__qualname__}"
    if inspect.isfunction(component) or inspect.ismethod(component):
        return f"the function {component.__module__}.{component.__qualname__}"
    return f"a {type(component).__module__}.{type(component).__qualname__} instance"


def _lacks(obj: object, *names: str) -> list[str]:
    return [n for n in names if not callable(getattr(obj, n, None))]


def _instance_of(component: object, methods: tuple[str, ...], attrs: tuple[str, ...]) -> str | None:
    """An instance with callable ``methods`` and str ``attrs`` (encoders, adapters, dialects)."""
    if isinstance(component, type):
        if not _lacks(component, *methods):
            return f"{_what(component)}, not an instance: register {component.__name__}()"
        return f"{_what(component)}, not an instance"
    missing = _lacks(component, *methods)
    missing += [a for a in attrs if not isinstance(getattr(component, a, None), str)]
    if missing:
        return f"{_what(component)}, lacking {', '.join(missing)}"
    return None


def _factory_of(component: object, methods: tuple[str, ...], built: str) -> str | None:
    """A class whose instances have ``methods``, or any other callable (a factory)."""
    if isinstance(component, type):
        missing = _lacks(component, *methods)
        return f"{_what(component)}, lacking {', '.join(missing)}" if missing else None
    if callable(component) and not _lacks(component, *methods):
        return f"{_what(component)}: register its class or a factory, not an instance"
    if not callable(component):
        if not _lacks(component, *methods):
            return f"{_what(component)}: register its class or a factory, not {built}"
        return f"{_what(component)}, not callable"
    return None


def encoder(component: object) -> str | None:
    return _instance_of(component, ("encode", "decode"), ("name", "content_type"))


def server_adapter(component: object) -> str | None:
    return _instance_of(component, ("supports", "wrap"), ("name",))


def model_dialect(component: object) -> str | None:
    return _instance_of(component, (), ("name", "sqlalchemy_name"))


def channel(component: object) -> str | None:
    return _factory_of(component, ("connect", "run", "aclose"), "a channel")


def database_backend(component: object) -> str | None:
    return _factory_of(
        component, ("execute", "fetch_one", "fetch_all", "transaction", "close"), "a database"
    )


def authenticator(component: object) -> str | None:
    return _factory_of(component, ("authenticate", "authenticate_sync"), "an authenticator")


_CACHE_METHODS = ("get", "set", "delete", "increment", "lock", "close")


def cache_backend(component: object) -> str | None:
    # A typed configuration class (``from_url`` + ``open``) is the other accepted shape.
    if isinstance(component, type) and not _lacks(component, "from_url", "open"):
        return None
    if not isinstance(component, type) and not _lacks(component, "from_url", "open"):
        return f"{_what(component)}, a configuration: register its class"
    return _factory_of(component, _CACHE_METHODS, "a cache")


def broker(component: object) -> str | None:
    if not callable(component):
        return f"{_what(component)}, not callable"
    schemes = getattr(component, "schemes", None)
    if (
        not isinstance(schemes, tuple)
        or not schemes
        or not all(isinstance(s, str) for s in schemes)
    ):
        return f"{_what(component)}, lacking a non-empty 'schemes' tuple of URL schemes"
    return None


def command(component: Any) -> str | None:
    if callable(getattr(component, "main", None)) and hasattr(component, "params"):
        return None
    if inspect.isfunction(component):
        return f"{_what(component)}, not a click command: decorate it with @click.command()"
    return f"{_what(component)}, not a click command"
