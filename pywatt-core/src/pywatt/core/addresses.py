"""Listen and socket addresses exactly as Rust parses them (PROTOCOL.md §2.1, ``ListenAddress``).

A literal IP socket address (``a.b.c.d:port`` or ``[v6%scope]:port``) is TCP; any other string,
``"localhost:8080"`` included, is a Unix socket path, as in the reference's untagged enum.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, GetCoreSchemaHandler
from pydantic_core import core_schema

__all__ = ["ListenAddress", "SocketAddr", "parse_listen_address"]

_V4 = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,3}){3}):([0-9]+)", re.ASCII)
_V6 = re.compile(r"\[([0-9A-Fa-f:.]+)(?:%([0-9]+))?\]:([0-9]+)", re.ASCII)


class ListenAddress:
    """Rust's untagged ``ListenAddress``: a literal-IP socket address, else a Unix path."""

    __slots__ = ("_host", "_path", "_port", "_scope")

    def __init__(self, *, host: str | None = None, port: int | None = None,
                 path: str | None = None, scope_id: int | None = None) -> None:  # fmt: skip
        if (path is None) == (host is None or port is None):
            raise ValueError("give either host and port, or path")
        self._host, self._port, self._path, self._scope = host, port, path, scope_id

    @property
    def is_tcp(self) -> bool:
        return self._path is None

    @property
    def host(self) -> str | None:
        return self._host

    @property
    def port(self) -> int | None:
        return self._port

    @property
    def path(self) -> str | None:
        return self._path

    def __str__(self) -> str:
        if self._path is not None:
            return self._path
        if self._host is not None and ":" in self._host:
            scope = f"%{self._scope}" if self._scope is not None else ""
            return f"[{self._host}{scope}]:{self._port}"
        return f"{self._host}:{self._port}"

    def __repr__(self) -> str:
        kind = "Tcp" if self.is_tcp else "Unix"
        return f"ListenAddress.{kind}({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ListenAddress):
            return NotImplemented
        return (self._host, self._port, self._path, self._scope) == (
            other._host, other._port, other._path, other._scope,
        )  # fmt: skip

    def __hash__(self) -> int:
        return hash((self._host, self._port, self._path, self._scope))

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        from_str = core_schema.no_info_after_validator_function(
            parse_listen_address, core_schema.str_schema(strict=True)
        )
        return core_schema.json_or_python_schema(
            json_schema=from_str,
            python_schema=core_schema.union_schema([core_schema.is_instance_schema(cls), from_str]),
            serialization=core_schema.to_string_ser_schema(),
        )


def _socket_addr(text: str) -> ListenAddress | None:
    """``SocketAddr::from_str``: v4 ``a.b.c.d:port`` or v6 ``[addr%scope]:port``, else None."""
    m4 = _V4.fullmatch(text)
    m6 = None if m4 else _V6.fullmatch(text)
    match = m4 or m6
    if match is None or int(match.group(match.lastindex or 0)) > 65535:
        return None
    port = int(match.group(match.lastindex or 0))
    try:
        if m4 is not None:
            return ListenAddress(host=str(ipaddress.IPv4Address(m4.group(1))), port=port)
        assert m6 is not None
        ip6 = ipaddress.IPv6Address(m6.group(1))
    except ValueError:
        return None
    scope = int(m6.group(2)) if m6.group(2) is not None else None
    if scope is not None and scope > 0xFFFFFFFF:
        return None
    mapped = ip6.ipv4_mapped  # Rust displays v4-mapped addresses with a dotted tail
    host = f"::ffff:{mapped}" if mapped is not None else str(ip6)
    return ListenAddress(host=host, port=port, scope_id=scope)


def parse_listen_address(text: str) -> ListenAddress:
    """Parse like Rust's untagged enum: a socket address first, otherwise a Unix path."""
    return _socket_addr(text) or ListenAddress(path=text)


def _socket_addr_text(text: str) -> str:
    addr = _socket_addr(text)
    if addr is None:
        raise ValueError("invalid socket address syntax")
    return str(addr)


SocketAddr = Annotated[str, AfterValidator(_socket_addr_text)]
