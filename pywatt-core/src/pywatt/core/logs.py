"""JSON-lines logging on stderr, in the shape the Rust SDK's ``tracing`` subscriber writes.

Every string that goes into a line (message, ``extra`` keys and values, exception text and
traceback, target, spans) passes through the process-wide redactor just before serialization, so
a secret cannot reach stderr by any of those paths. Redacting the strings rather than the finished
line keeps the JSON intact when a secret happens to equal a key or a fragment of the skeleton.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, TextIO

from pywatt.core.errors import ConfigError
from pywatt.core.redact import REDACTED, Redactor, get_redactor

__all__ = [
    "TRACE",
    "JsonLogFormatter",
    "RedactionFilter",
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


_MAX_SUMMARY = 200
_SENSITIVE_OP = re.compile(r'"op"\s*:\s*"(secret|init)"|^\s*\[\s*"(secret|init)"')
_SENSITIVE_KEY = re.compile(r'"(value|env|auth_token)"\s*:')
_INIT_KEYS = frozenset({"env", "auth_token", "orchestrator_api", "module_id"})


def _truncate(text: str) -> str:
    if len(text) <= _MAX_SUMMARY:
        return text
    return f"{text[:_MAX_SUMMARY]}... ({len(text)} chars)"


def _clean(value: object) -> str:
    return get_redactor().redact(str(value))[:80]


def describe_line(line: str | bytes) -> str:
    """A loggable summary of a protocol line that never shows ``secret`` or ``init`` values."""
    if isinstance(line, (bytes, bytearray)):
        line = bytes(line).decode("utf-8", "replace")
    try:
        message: Any = json.loads(line)
    except (ValueError, RecursionError):
        message = None
    op = message.get("op") if isinstance(message, dict) else None
    if isinstance(message, list) and message and message[0] in ("secret", "init"):
        return f"op={message[0]} (array form, {len(line)} chars)"
    if isinstance(message, dict):
        if op == "secret":
            text = f"op=secret name={_clean(message.get('name'))}"
            rotation = message.get("rotation_id")
            return text + (f" rotation_id={_clean(rotation)}" if rotation is not None else "")
        # The init line is read as a bare InitBlob, so it may come without "op".
        if op == "init" or (op is None and _INIT_KEYS & message.keys()):
            return f"op=init module_id={_clean(message.get('module_id'))}"
    # A line we cannot read as a known op may still be a damaged secret or init line.
    if _SENSITIVE_OP.search(line) or (not isinstance(op, str) and _SENSITIVE_KEY.search(line)):
        return f"unreadable line with secret-like content ({len(line)} chars)"
    return _truncate(get_redactor().redact(line))
