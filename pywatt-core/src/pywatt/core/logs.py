"""JSON-lines logging on stderr, in the shape the Rust SDK's ``tracing`` subscriber writes.

Every string that goes into a line (message, ``extra`` keys and values, exception text and
traceback, target, spans) passes through the process-wide redactor just before serialization, so
a secret cannot reach stderr by any of those paths. Redacting the strings rather than the finished
line keeps the JSON intact when a secret happens to equal a key or a fragment of the skeleton.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import os
import sys
import threading
import traceback
from collections.abc import Iterator
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, TextIO

from pywatt.core.errors import ConfigError
from pywatt.core.redact import REDACTED, Redactor, get_redactor

__all__ = [
    "TRACE",
    "JsonLogFormatter",
    "RedactionFilter",
    "capture_uncaught",
    "configure_logging",
    "describe_line",
    "log_span",
    "parse_level",
]

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_LEVELS = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    # RUST_LOG's "off": above every level a record can carry.
    "off": logging.CRITICAL + 10,
}

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
    # uvicorn's terminal rendering of the message (ANSI escapes): noise in a JSON line.
    | {"color_message"}
)

_SPANS: contextvars.ContextVar[tuple[dict[str, Any], ...]] = contextvars.ContextVar(
    "pywatt_log_spans", default=()
)

_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _scrub(value: Any, redactor: Redactor) -> Any:
    """Redact every string in a JSON-bound value; other objects become their redacted ``str``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, (int, float)):
        # JSON shows the digits; a secret made of digits is still a secret.
        return value if redactor.redact(repr(value)) == repr(value) else REDACTED
    if isinstance(value, dict):
        return {redactor.redact(str(k)): _scrub(v, redactor) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, redactor) for v in value]
    return redactor.redact(str(value))


def _scrub_span(span: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    # "name" is the span's own key, always last, as tracing writes it.
    fields = {redactor.redact(k): _scrub(v, redactor) for k, v in span.items() if k != "name"}
    return {**fields, "name": _scrub(span["name"], redactor)}


def _level_name(levelno: int) -> str:
    if levelno >= logging.ERROR:
        return "ERROR"
    if levelno >= logging.WARNING:
        return "WARN"
    if levelno >= logging.INFO:
        return "INFO"
    if levelno >= logging.DEBUG:
        return "DEBUG"
    return "TRACE"


@contextlib.contextmanager
def log_span(name: str, **fields: Any) -> Iterator[None]:
    """Attach ``span``/``spans`` to records logged inside, as ``tracing`` spans do."""
    span = {**fields, "name": name}
    token = _SPANS.set((*_SPANS.get(), span))
    try:
        yield
    finally:
        _SPANS.reset(token)


class JsonLogFormatter(logging.Formatter):
    """One compact JSON object per record: ``timestamp``, ``level``, ``fields``, ``target``."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redactor = redactor

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = datetime.fromtimestamp(record.created, tz=timezone.utc)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def format(self, record: logging.LogRecord) -> str:
        redactor = self._redactor if self._redactor is not None else get_redactor()
        fields: dict[str, Any] = {"message": redactor.redact(record.getMessage())}
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                fields[redactor.redact(key)] = _scrub(value, redactor)
        exception = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        if exception:
            fields["exception"] = redactor.redact(exception)
        if record.stack_info:
            fields["stack"] = redactor.redact(self.formatStack(record.stack_info))
        out: dict[str, Any] = {
            "timestamp": self.formatTime(record),
            "level": _level_name(record.levelno),
            "fields": fields,
            "target": redactor.redact(record.name),
        }
        spans = [_scrub_span(span, redactor) for span in _SPANS.get()]
        if spans:
            out["span"] = spans[-1]
            out["spans"] = spans
        return _JSON.encode(out)


class RedactionFilter(logging.Filter):
    """Redacts records in place, for handlers that do not use :class:`JsonLogFormatter`."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = self._redactor if self._redactor is not None else get_redactor()
        record.msg = redactor.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redactor.redact(record.exc_text)
        # Formatters only render exc_text once exc_info is gone; keep the redacted text.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redactor.redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, redactor.redact(value))
        return True


class _StderrJsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is at emit time, unless given a fixed stream."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream)
        self._fixed = stream

    @property
    def stream(self) -> TextIO:
        return self._fixed if self._fixed is not None else sys.stderr

    @stream.setter
    def stream(self, value: TextIO | None) -> None:
        self._fixed = value

    def handleError(self, record: logging.LogRecord) -> None:
        # The stdlib version prints the record's raw message and args: redact them first.
        if not logging.raiseExceptions:
            return
        with contextlib.suppress(Exception):
            text = f"--- pywatt logging error in {record.name}\n{traceback.format_exc()}"
            sys.stderr.write(get_redactor().redact(text))


def parse_level(value: str | int) -> int:
    """A level name (``trace``..``error``, ``warning``, ``critical``, ``off``) or number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ConfigError(f"log level must be a name or int, not {type(value).__name__}")
    name = value.strip().lower()
    if name.isdigit():
        return int(name)
    if name not in _LEVELS:
        raise ConfigError(f"unknown log level {value!r}; expected one of: {', '.join(_LEVELS)}")
    return _LEVELS[name]


def _level_from_filter(spec: str) -> int:
    # RUST_LOG is a comma list of ``level`` and ``target=level`` directives. Python loggers are
    # not Rust targets, so only a bare level counts; a bare unknown word is a target name.
    level = logging.INFO
    for part in spec.split(","):
        part = part.strip().lower()
        if part in _LEVELS:
            level = _LEVELS[part]
    return level


def _level_from_env() -> int:
    for var in ("PYWATT_LOG", "RUST_LOG"):
        spec = os.environ.get(var, "").strip()
        if spec:
            return _level_from_filter(spec)
    return logging.INFO


def configure_logging(level: str | int | None = None, stream: TextIO | None = None) -> None:
    """Send JSON log lines to stderr from the root logger; calling again replaces the handler."""
    resolved = parse_level(level) if level is not None else _level_from_env()
    handler = _StderrJsonHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrJsonHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(resolved)


_MAX_KEYS = 16
_MAX_KEY_CHARS = 40


def _key_name(key: str) -> str:
    key = get_redactor().redact(key)
    return key if len(key) <= _MAX_KEY_CHARS else f"{key[:_MAX_KEY_CHARS]}..."


def describe_line(line: str | bytes | bytearray) -> str:
    """The shape of a protocol line for a log: its size, a hash and its top-level keys.

    A line we log is one we could not use, and an unusable line may still be a secret or init
    message spelled in a way we do not recognise (another case, an escape, an array form).
    So no value is ever shown: only what helps match the line with the orchestrator's side.
    """
    raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else bytes(line)
    digest = hashlib.sha256(raw).hexdigest()[:16]
    try:
        message: Any = json.loads(raw)
    except (ValueError, RecursionError):
        shape = "not JSON"
    else:
        if isinstance(message, dict):
            names = [_key_name(str(k)) for k in list(message)[:_MAX_KEYS]]
            more = f", +{len(message) - _MAX_KEYS} more" if len(message) > _MAX_KEYS else ""
            shape = f"object with keys [{', '.join(names)}{more}]"
        elif isinstance(message, list):
            shape = f"array of {len(message)} items"
        else:
            shape = f"JSON {type(message).__name__}"
    return f"{len(raw)} bytes, sha256 {digest}, {shape}"


def _log_uncaught(
    kind: str, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    logging.getLogger("pywatt.core.uncaught").error(
        "uncaught exception in %s: %s", kind, exc_type.__name__, exc_info=(exc_type, exc, tb)
    )


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    _log_uncaught("the main thread", exc_type, exc, tb)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    _log_uncaught(f"thread {name}", args.exc_type, args.exc_value, args.exc_traceback)


def _unraisablehook(unraisable: Any) -> None:
    exc = unraisable.exc_value
    if exc is None:
        return
    where = unraisable.err_msg or "Exception ignored"
    _log_uncaught(f"an unraisable context ({where})", type(exc), exc, unraisable.exc_traceback)


def capture_uncaught() -> None:
    """Send uncaught exceptions (any thread), unraisable ones and warnings to the JSON log.

    Python prints all four raw on stderr by default; raw text bypasses the redactor, so a
    secret in an exception message or a warning would leak. Process-wide: call it once from
    the module's entry point, not from libraries.
    """
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    sys.unraisablehook = _unraisablehook
    logging.captureWarnings(True)
