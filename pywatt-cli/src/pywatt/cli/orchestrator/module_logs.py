"""A module's stderr, parsed: JSON log lines as the SDKs write them, or raw text."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModuleLog", "parse_stderr_line", "print_log"]


@dataclass(frozen=True)
class ModuleLog:
    """One stderr line; ``is_json`` is False for raw text (Rust SDKs also ``eprintln!``)."""

    module_id: str
    raw: str
    level: str = "INFO"
    message: str = ""
    target: str = ""
    timestamp: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    is_json: bool = False

    def __str__(self) -> str:
        if not self.is_json:
            return f"[{self.module_id}] {self.raw}"
        extra = " ".join(f"{k}={_show(v)}" for k, v in self.fields.items())
        target = f" {self.target}:" if self.target else ""
        text = f"[{self.module_id}] {self.level}{target} {self.message}"
        return f"{text} {extra}" if extra else text

    def matches(self, text: str) -> bool:
        return text in self.message or text in self.raw


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse_stderr_line(module_id: str, line: str) -> ModuleLog:
    """Parse the tracing-JSON shape (§1.3); anything else is kept as raw text."""
    try:
        data = json.loads(line)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("fields"), dict):
        return ModuleLog(module_id=module_id, raw=line)
    fields = dict(data["fields"])
    message = fields.pop("message", "")
    return ModuleLog(
        module_id=module_id,
        raw=line,
        level=str(data.get("level", "INFO")).upper(),
        message=message if isinstance(message, str) else json.dumps(message),
        target=str(data.get("target", "")),
        timestamp=data.get("timestamp") if isinstance(data.get("timestamp"), str) else None,
        fields=fields,
        is_json=True,
    )


def print_log(log: ModuleLog) -> None:
    """The default sink: one readable line per log on the orchestrator's stderr."""
    print(str(log), file=sys.stderr, flush=True)
