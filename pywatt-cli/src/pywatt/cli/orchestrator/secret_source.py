"""Where the dev orchestrator finds the secrets modules ask for."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path

from pywatt.core.errors import ConfigError

__all__ = ["SecretSource"]

_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


class SecretSource:
    """A name→value lookup; ``set`` writes to the first layer, so rotations shadow the rest."""

    def __init__(self, values: MutableMapping[str, str] | None = None) -> None:
        self._values: MutableMapping[str, str] = {} if values is None else values
        self._env_prefix: str | None = None
        self._layers: list[SecretSource] = []

    @classmethod
    def from_dict(cls, values: Mapping[str, str]) -> SecretSource:
        for name, value in values.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise ConfigError(f"secret {name!r}: names and values must be strings")
        return cls(dict(values))

    @classmethod
    def from_mapping(cls, values: MutableMapping[str, str]) -> SecretSource:
        """Read (and rotate into) ``values`` itself, so later changes to it are seen."""
        return cls(values)

    @classmethod
    def from_env(cls, prefix: str = "") -> SecretSource:
        """Secrets read live from ``os.environ[prefix + name]``."""
        source = cls()
        source._env_prefix = prefix
        return source

    @classmethod
    def from_dotenv(cls, path: str | os.PathLike[str]) -> SecretSource:
        """``KEY=VALUE`` lines; quotes, ``#`` comments and ``export`` are understood."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read secrets file {file}: {exc.strerror}") from exc
        return cls(parse_dotenv(text, str(file)))

    @classmethod
    def chain(cls, *sources: SecretSource) -> SecretSource:
        """The first source that knows a name wins."""
        source = cls()
        source._layers = list(sources)
        return source

    def get(self, name: str) -> str | None:
        if name in self._values:
            return self._values[name]
        if self._env_prefix is not None:
            return os.environ.get(self._env_prefix + name)
        for layer in self._layers:
            value = layer.get(name)
            if value is not None:
                return value
        return None

    def set(self, name: str, value: str) -> None:
        self._values[name] = value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


def parse_dotenv(text: str, where: str = "<dotenv>") -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ConfigError(f"{where}:{number}: expected KEY=VALUE")
        name, rest = match.groups()
        values[name] = _value(rest, f"{where}:{number}")
    return values


def _value(rest: str, where: str) -> str:
    if rest[:1] in ("'", '"'):
        quote = rest[0]
        end = _closing_quote(rest, quote)
        if end < 0:
            raise ConfigError(f"{where}: unterminated {quote} quote")
        tail = rest[end + 1 :].strip()
        if tail and not tail.startswith("#"):
            raise ConfigError(f"{where}: unexpected text after the closing quote")
        body = rest[1:end]
        if quote == "'":
            return body
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)
    # An unquoted value ends at " #" (a trailing comment).
    return re.split(r"\s+#", rest, maxsplit=1)[0].strip()


def _closing_quote(rest: str, quote: str) -> int:
    i = 1
    while i < len(rest):
        if rest[i] == "\\" and quote == '"':
            i += 2
            continue
        if rest[i] == quote:
            return i
        i += 1
    return -1
