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

    def __init__(self, kind: str, name: str, installed: list[str], *, hint: str = "") -> None:
        self.kind, self.name, self.installed = kind, name, installed
        have = ", ".join(installed) if installed else "none"
        super().__init__(f"no {kind} {name!r}; installed: {have}" + (f"; {hint}" if hint else ""))


# --- protocol -------------------------------------------------------------------------------


class ProtocolError(PyWattError):
    """Bytes from the peer that do not form a valid protocol message."""


class MessageDecodeError(ProtocolError):
    """The line or frame is not a JSON object (malformed JSON, wrong top-level type, bad UTF-8)."""


class UnknownOpError(ProtocolError):
    """The message's ``op`` is missing, not a string, or names no known variant."""

    def __init__(self, op: object, known: list[str] | None = None) -> None:
        self.op = op
        # The op's value is not shown: a line we cannot read may be a secret delivery in a
        # spelling we do not know, and its values must not reach the log.
        if isinstance(op, str):
            detail = f"unknown op (a {len(op)}-character string)"
        elif op is None:
            detail = "missing op"
        else:
            detail = f"invalid op (a JSON {_json_kind(op)}, not a string)"
        if known:
            detail += f"; expected one of: {', '.join(known)}"
        super().__init__(detail)


def _json_kind(value: object) -> str:
    kinds = {dict: "object", list: "array", bool: "boolean", int: "number", float: "number"}
    return kinds.get(type(value), type(value).__name__)


class MessageValidationError(ProtocolError):
    """The ``op`` is known but a field is missing or has the wrong type."""


class FrameError(ProtocolError):
    """A TCP/Unix frame header is invalid (bad format byte, oversized length)."""


class OversizedMessageError(FrameError):
    """A line or frame is larger than the allowed maximum."""


# --- runtime --------------------------------------------------------------------------------


class InitError(PyWattError):
    """The init handshake could not be read (EOF, oversize, malformed)."""


class ConfigError(PyWattError):
    """The module is configured in a way that cannot work."""


class ChannelError(PyWattError):
    """A channel to the orchestrator failed (closed, dead peer, connect timeout)."""


class ChannelClosedError(ChannelError):
    """The channel was closed while a request was waiting for its reply."""


class SecretError(PyWattError):
    """A secret could not be obtained."""


class SecretNotFoundError(SecretError, KeyError):
    """The secret is not in the cache (``CacheOnly``) or the orchestrator does not know it."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "secret not found"


class SecretTimeoutError(SecretError, TimeoutError):
    """The orchestrator did not answer ``get_secret`` in time."""


class SecretTypeError(SecretError, ValueError):
    """A secret's value cannot be converted to the requested type."""


class PortNegotiationError(PyWattError):
    """The orchestrator did not allocate a port."""


class ServiceError(PyWattError):
    """A ``service_request`` or ``service_operation`` failed or timed out."""


class ServiceTimeoutError(ServiceError, TimeoutError):
    """The orchestrator did not answer a service request in time."""


class ServerError(PyWattError):
    """The HTTP server could not be started or a framework has no adapter."""


# --- cache ----------------------------------------------------------------------------------


class CacheError(PyWattError):
    """A cache operation failed."""


class CacheKeyError(CacheError, ValueError):
    """A cache key or namespace is not a non-empty string."""


class CacheTypeError(CacheError, TypeError):
    """A value given to a byte cache is not bytes (a ``str`` must be encoded first)."""


class CacheValueError(CacheError, ValueError):
    """A stored value or an argument cannot serve the operation (non-integer, bad TTL)."""


class CacheBackendError(CacheError):
    """The cache server or store failed (unreachable, refused the command, I/O error)."""


# --- wire encoding --------------------------------------------------------------------------


class MessageEncodeError(ProtocolError, ValueError):
    """A message cannot be put on the wire (e.g. a non-UTF-8 path, a non-JSON value)."""


# --- module-to-module routing ---------------------------------------------------------------


class RouteTimeoutError(ChannelError, TimeoutError):
    """No ``routed_module_response`` arrived for a ``route_to_module`` in time."""


# --- brokers --------------------------------------------------------------------------------


class BrokerError(PyWattError):
    """The message broker could not be reached or refused an operation."""


class BrokerTimeoutError(BrokerError, TimeoutError):
    """A broker request got no reply in time."""
