"""What to run: a module's command line and how the orchestrator should treat it."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pywatt.core.errors import ConfigError

__all__ = ["ModuleSpec"]


@dataclass(frozen=True)
class ModuleSpec:
    """One module to spawn.

    :param command: argv of the module process.
    :param module_id: the id sent in ``init`` and ``PYWATT_MODULE_ID``.
    :param env: extra environment, also sent as ``init.env``.
    :param listen: give the module a TCP port or a Unix socket path to serve HTTP on.
    :param restart: restart the module with backoff when it exits unexpectedly.
    :param announce_timeout: seconds to wait for ``announce`` before killing the module.
    :param tcp_channel: give the module a TCP channel (needed for module-to-module routing).
    :param tcp_channel_required: the channel's ``required`` flag in ``init``; an optional one
        lets a module without pywatt-comm run over stdio only.
    :param tcp_channel_tls: ``"tls"`` or ``"mtls"``: the channel listener speaks TLS with the
        certificates in the orchestrator's secrets (see :mod:`pywatt.core.tls`), and a
        plaintext client is refused.
    """

    command: list[str]
    module_id: str
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    listen: Literal["tcp", "unix"] = "tcp"
    restart: bool = False
    max_restarts: int = 5
    announce_timeout: float = 30.0
    tcp_channel: bool = False
    tcp_channel_required: bool = True
    tcp_channel_tls: Literal["tls", "mtls"] | None = None

    def __post_init__(self) -> None:
        if not self.command:
            raise ConfigError(f"module {self.module_id!r}: the command is empty")
        if not self.module_id:
            raise ConfigError("a module needs a non-empty module_id")
        if self.listen not in ("tcp", "unix"):
            raise ConfigError(f"listen must be 'tcp' or 'unix', not {self.listen!r}")
        if self.tcp_channel_tls not in (None, "tls", "mtls"):
            raise ConfigError(
                f"tcp_channel_tls must be 'tls' or 'mtls', not {self.tcp_channel_tls!r}"
            )
        bad = [k for k, v in self.env.items() if not isinstance(v, str)]
        if bad:
            raise ConfigError(f"module {self.module_id!r}: env values must be strings: {bad}")

    @classmethod
    def for_script(
        cls, path: str | Path, module_id: str | None = None, **kwargs: Any
    ) -> ModuleSpec:
        """Run a Python file with this interpreter; the id defaults to the file's stem."""
        script = Path(path)
        if not script.is_file():
            raise ConfigError(f"module script {script} does not exist")
        return cls(
            command=[sys.executable, str(script)],
            module_id=module_id or script.stem,
            **kwargs,
        )
