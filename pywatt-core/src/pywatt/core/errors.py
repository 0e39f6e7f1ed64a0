"""The pywatt error hierarchy.

Every error the SDK raises derives from :class:`PyWattError`, so callers can catch one type.
"""

from __future__ import annotations


class PyWattError(Exception):
    """Base class of every error raised by pywatt."""


# --- plugins --------------------------------------------------------------------------------


class PluginError(PyWattError):
    """A plugin could not be loaded or composed."""


class PluginLoadError(PluginError):
    """A plugin's entry point failed to import."""

    def __init__(self, plugin: str, distribution: str, version: str, cause: BaseException) -> None:
        self.plugin = plugin
        self.distribution = distribution
        self.version = version
        self.cause = cause
        super().__init__(
            f"pywatt plugin {plugin!r} from distribution {distribution} {version} failed to "
            f"load: {type(cause).__name__}: {cause}"
        )


class DuplicateComponentError(PluginError):
    """Two plugins registered the same component name."""

    def __init__(self, kind: str, name: str, first: str, second: str) -> None:
        self.kind, self.name, self.first, self.second = kind, name, first, second
        super().__init__(f"{kind} {name!r} registered by both {first!r} and {second!r}")


class UnknownComponentError(PluginError, LookupError):
    """No installed plugin provides the requested component."""

    def __init__(self, kind: str, name: str, installed: list[str]) -> None:
        self.kind, self.name, self.installed = kind, name, installed
        have = ", ".join(installed) if installed else "none"
        super().__init__(f"no {kind} {name!r}; installed: {have}")
