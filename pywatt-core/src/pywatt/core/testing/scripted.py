"""An in-process scripted orchestrator: drives a module over memory streams with exact lines.

Unit tests (ours and module authors') use it to play the orchestrator's side line by line,
with no subprocess and no real stdin/stdout.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream, TaskGroup

from pywatt.core._lines import DEFAULT_MAX_LINE, LineSplitter, OversizedLine
from pywatt.core._stdio import MemorySink, MemorySource

if TYPE_CHECKING:
    from pywatt.core.module import ModuleContext, PyWattModule
    from pywatt.core.plugins import Plugins

__all__ = ["DEFAULT_INIT", "ScriptedOrchestrator"]

DEFAULT_INIT: dict[str, Any] = {
    "op": "init",
    "orchestrator_api": "http://127.0.0.1:9900",
    "module_id": "test-module",
    "env": {},
    "listen": "127.0.0.1:0",
    "security_level": "None",
}


class ScriptedOrchestrator:
    """``async with ScriptedOrchestrator(module) as orch:`` then send and expect lines."""

    def __init__(
        self,
        module: PyWattModule[Any],
        *,
        init: Mapping[str, Any] | str | bytes | None = None,
        plugins: Plugins | None = None,
        send_init: bool = True,
    ) -> None:
        self.module = module
        self.init = DEFAULT_INIT if init is None else init
        self.plugins = plugins
        self.send_init = send_init
        self.lines: list[bytes] = []
        self.exit_code: int | None = None
        self._splitter = LineSplitter(DEFAULT_MAX_LINE)
        self._ready: collections.deque[bytes] = collections.deque()
        self._tg: TaskGroup | None = None
        self._to_module: ObjectSendStream[bytes]
        self._from_module: ObjectReceiveStream[bytes]
        self._done = anyio.Event()

    async def __aenter__(self) -> ScriptedOrchestrator:
        to_module, module_in = anyio.create_memory_object_stream[bytes](1024)
        module_out, from_module = anyio.create_memory_object_stream[bytes](1024)
        self._to_module, self._from_module = to_module, from_module
        self._streams = (to_module, module_in, module_out, from_module)
        self._tg = await anyio.create_task_group().__aenter__()
        self._tg.start_soon(self._run, MemorySource(module_in), MemorySink(module_out))
        if self.send_init:
            await self.send(self.init)
        return self

    async def _run(self, source: MemorySource, sink: MemorySink) -> None:
        try:
            self.exit_code = await self.module.serve(source, sink, plugins=self.plugins)
        finally:
            self._done.set()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None
        await self.close_stdin()
        with anyio.move_on_after(5):
            await self._done.wait()
        self._tg.cancel_scope.cancel()
        try:
            return await self._tg.__aexit__(exc_type, exc, tb)
        finally:
            for stream in self._streams:
                stream.close()

    # -- orchestrator → module -------------------------------------------------------------

    async def send(self, message: Mapping[str, Any] | str | bytes) -> None:
        """Send one line exactly: a dict is JSON-encoded compactly, text is sent as is."""
        if isinstance(message, Mapping):
            data = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
        elif isinstance(message, str):
            data = message.encode()
        else:
            data = message
        await self._to_module.send(data if data.endswith(b"\n") else data + b"\n")

    async def send_raw(self, data: bytes) -> None:
        """Send bytes with no framing at all (partial lines, garbage)."""
        await self._to_module.send(data)

    async def close_stdin(self) -> None:
        await self._to_module.aclose()

    # -- module → orchestrator -------------------------------------------------------------

    async def receive_line(self, timeout: float = 5.0) -> bytes:
        """The module's next stdout line, without its newline."""
        with anyio.fail_after(timeout):
            while not self._ready:
                try:
                    chunk = await self._from_module.receive()
                except anyio.EndOfStream:
                    raise EOFError("module closed stdout") from None
                for item in self._splitter.feed(chunk):
                    if isinstance(item, OversizedLine):
                        raise item
                    self._ready.append(bytes(item))
        line = self._ready.popleft()
        self.lines.append(line)
        return line

    async def receive(self, timeout: float = 5.0) -> dict[str, Any]:
        value = json.loads(await self.receive_line(timeout))
        assert isinstance(value, dict), f"module wrote a non-object line: {value!r}"
        return value

    async def expect(self, op: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next line, which must carry ``op``."""
        msg = await self.receive(timeout)
        assert msg.get("op") == op, f"expected op {op!r}, module sent {msg!r}"
        return msg

    async def answer_secrets(self, secrets: Mapping[str, str], timeout: float = 5.0) -> None:
        """Answer ``get_secret`` lines until every name in ``secrets`` was asked for."""
        remaining = set(secrets)
        while remaining:
            msg = await self.expect("get_secret", timeout)
            name = msg["name"]
            await self.send({"op": "secret", "name": name, "value": secrets[name]})
            remaining.discard(name)

    async def wait_exit(self, timeout: float = 5.0) -> int | None:
        with anyio.fail_after(timeout):
            await self._done.wait()
        return self.exit_code

    async def context(self) -> ModuleContext:
        return await self.module.wait_ready()
