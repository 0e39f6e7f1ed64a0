"""One running module as the orchestrator sees it: its process, pipes, logs and requests."""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import ByteReceiveStream, Process

from pywatt.cli.orchestrator._discovery_registry import DISCOVERY_ADDRESS_ENV
from pywatt.cli.orchestrator._pipes import StdinPipe, StdoutPipe
from pywatt.cli.orchestrator.errors import (
    ModuleCrashed,
    ModuleStartError,
    ModuleTimeoutError,
    ModuleUnavailable,
)
from pywatt.cli.orchestrator.module_logs import ModuleLog, parse_stderr_line
from pywatt.core._lines import LineSplitter, OversizedLine
from pywatt.core._reply import PendingReplies, wait_any
from pywatt.core.errors import ProtocolError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pywatt.cli.orchestrator.orchestrator import Orchestrator
    from pywatt.cli.orchestrator.spec import ModuleSpec
    from pywatt.core.messages import (
        EndpointInfo,
        ModuleToOrchestrator,
        RotationAck,
        ServiceOperation,
        ServiceRequest,
        StdioHttpResponse,
    )

__all__ = ["ModuleHandle", "OrchestratorHttpResponse"]

STDERR_TAIL = 20
#: Log lines are cut at 1 MiB; protocol lines have the module side's cap.
_MAX_LOG_LINE = 1024 * 1024


@dataclass(frozen=True)
class OrchestratorHttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Run:
    """One process of the module; a restart makes a new one."""

    process: Process
    stdin: StdinPipe
    announced: anyio.Event = field(default_factory=anyio.Event)
    exited: anyio.Event = field(default_factory=anyio.Event)
    stderr_done: anyio.Event = field(default_factory=anyio.Event)
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=20))
    exit_code: int | None = None


class ModuleHandle:
    """Created by :meth:`Orchestrator.start`; survives restarts of the module's process."""

    def __init__(self, spec: ModuleSpec, orchestrator: Orchestrator) -> None:
        self.spec = spec
        self.module_id = spec.module_id
        self.listen: str | None = None
        self.endpoints: list[EndpointInfo] = []
        self.logs: list[ModuleLog] = []
        self.exit_code: int | None = None
        self.restarts = 0
        self.stdout_errors: list[str] = []
        self.channel_frames: list[ModuleToOrchestrator] = []
        self.crashes: list[ModuleCrashed] = []
        self._orch = orchestrator
        self._run: _Run | None = None
        self._send_stream: Any = None
        self._stopping = False
        # Keyed ("http", request_id) and ("rotation", rotation_id).
        self._replies: PendingReplies[tuple[str, str]] = PendingReplies()
        self._rotation_ids: dict[str, str] = {}
        self._log_event = anyio.Event()
        self._crash_event = anyio.Event()
        self._assigned_listen = ""

    def __repr__(self) -> str:
        return f"<ModuleHandle {self.module_id!r} pid={self.pid} listen={self.listen!r}>"

    @property
    def pid(self) -> int | None:
        return None if self._run is None else self._run.process.pid

    @property
    def active(self) -> bool:
        """Its process is alive (starting or serving) or due to be restarted: the id is taken."""
        run = self._run
        if run is None:
            return True  # being launched
        if not run.exited.is_set():
            return True
        return self.spec.restart and not self._stopping and self.restarts < self.spec.max_restarts

    @property
    def running(self) -> bool:
        run = self._run
        return run is not None and run.announced.is_set() and not run.exited.is_set()

    @property
    def http_address(self) -> tuple[str, int] | str | None:
        """``(host, port)`` of the announced TCP listener, or the Unix socket path."""
        from pywatt.core.messages import parse_listen_address

        if self.listen is None:
            return None
        addr = parse_listen_address(self.listen)
        if addr.is_tcp:
            assert addr.host is not None
            assert addr.port is not None
            return addr.host, addr.port
        return addr.path

    # -- lifecycle ------------------------------------------------------------------------

    async def _launch(self) -> None:
        """Spawn, send init, answer until ``announce``; raise ModuleStartError otherwise."""
        spec, orch = self.spec, self._orch
        self.exit_code = None  # the exit code of the current process; None while it lives
        self._assigned_listen = orch._assign_listen(spec)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
        env["PYWATT_MODULE_ID"] = spec.module_id
        env[DISCOVERY_ADDRESS_ENV] = await orch.discovery.listen(spec.module_id)
        if spec.tcp_channel and spec.tcp_channel_tls is not None:
            from pywatt.core.tls import CHANNEL_TLS_ENV

            env[CHANNEL_TLS_ENV] = spec.tcp_channel_tls  # what makes tls_enabled real (tls.py)
        # Our own pipes for stdin and stdout, read and written on the loop (see _pipes.py).
        stdin_read, stdin_write = os.pipe()
        stdout_read, stdout_write = os.pipe()
        try:
            process = await anyio.open_process(
                spec.command,
                stdin=stdin_read,
                stdout=stdout_write,
                stderr=subprocess.PIPE,
                cwd=spec.cwd,
                env=env,
            )
        except BaseException as exc:
            os.close(stdin_write)
            os.close(stdout_read)
            if isinstance(exc, OSError):
                raise ModuleStartError(
                    f"cannot start module {self.module_id!r} ({spec.command[0]}): {exc}"
                ) from exc
            raise
        finally:
            os.close(stdin_read)  # the child's ends: its exit then closes stdout for good
            os.close(stdout_write)
        stdin = StdinPipe(stdin_write)
        stdout = StdoutPipe(stdout_read, self._resolve_now, self._handle_stdout)
        run = _Run(process, stdin)
        self._run = run
        self._send_stream = stdin
        self.listen = None
        tg = orch._task_group
        assert process.stderr is not None
        tg.start_soon(stdin.run)
        tg.start_soon(stdout.run)
        tg.start_soon(self._read_stderr, run, process.stderr)
        tg.start_soon(self._watch_exit, run)
        try:
            await self._handshake(run)
        except BaseException:
            # A launch that fails leaves no process behind (a refused TLS setup, say).
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                if not run.exited.is_set():
                    process.kill()
                    await run.exited.wait()
            raise

    async def _handshake(self, run: _Run) -> None:
        """Send init and wait for the announce; raise ModuleStartError otherwise."""
        from pywatt.core.messages import Init, TcpChannelConfig, parse_listen_address

        spec, orch, process = self.spec, self._orch, run.process
        tcp = None
        if spec.tcp_channel:
            address = await orch._router.listen(self)
            tcp = TcpChannelConfig(
                address=address,
                tls_enabled=spec.tcp_channel_tls is not None,
                required=spec.tcp_channel_required,
            )
        init = Init(
            orchestrator_api=orch.orchestrator_api,
            module_id=spec.module_id,
            env=dict(spec.env),
            listen=parse_listen_address(self._assigned_listen),
            tcp_channel=tcp,
        )
        with contextlib.suppress(ModuleUnavailable):  # it exited: reported below, with stderr
            await self._send(init)
        if not await wait_any(spec.announce_timeout, run.announced, run.exited):
            process.kill()
            await run.exited.wait()
            raise ModuleStartError(
                f"module {self.module_id!r} did not announce within "
                f"{spec.announce_timeout:g} s; killed it.{_tail_text(run)}"
            )
        if not run.announced.is_set():
            raise ModuleStartError(
                f"module {self.module_id!r} exited with code {run.exit_code} before "
                f"announcing.{_tail_text(run)}"
            )

    async def _watch_exit(self, run: _Run) -> None:
        code = await run.process.wait()
        with anyio.move_on_after(2):
            await run.stderr_done.wait()
        run.exit_code = self.exit_code = code
        unexpected = run.announced.is_set() and not self._stopping
        error: ModuleUnavailable
        if unexpected:
            crash = ModuleCrashed(self.module_id, code, list(run.tail))
            self.crashes.append(crash)
            self._orch._report(self.module_id, "ERROR", str(crash), exit_code=code)
            error = crash
            old, self._crash_event = self._crash_event, anyio.Event()
            old.set()
        else:
            error = ModuleUnavailable(f"module {self.module_id!r} exited with code {code}")
        self._replies.fail_all(error)
        run.stdin.close()
        run.exited.set()
        if unexpected and self.spec.restart:
            self._orch._task_group.start_soon(self._restart)

    async def _restart(self) -> None:
        while not self._stopping and not self._orch._closing:
            if self.restarts >= self.spec.max_restarts:
                self._orch._report(
                    self.module_id, "ERROR", f"giving up after {self.restarts} restarts"
                )
                return
            delay = min(0.5 * 2**self.restarts, 10.0)
            self._orch._report(self.module_id, "WARN", f"restarting in {delay:g} s")
            await anyio.sleep(delay)
            if self._stopping or self._orch._closing:
                return
            self.restarts += 1
            try:
                await self._launch()
            except ModuleStartError as exc:
                self._orch._report(self.module_id, "ERROR", str(exc))
                continue
            self._orch._report(self.module_id, "INFO", f"restarted (restart {self.restarts})")
            return

    async def stop(self, timeout: float = 10.0) -> int:
        """Send ``shutdown`` and close stdin; SIGKILL after ``timeout``. Returns the exit code."""
        from pywatt.core.messages import Shutdown

        self._stopping = True
        run = self._run
        if run is None:
            raise ModuleUnavailable(f"module {self.module_id!r} was never started")
        if not run.exited.is_set():
            try:
                await self._send(Shutdown())
                await self._send_stream.aclose()
            except (ModuleUnavailable, anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass
            with anyio.move_on_after(timeout):
                await run.exited.wait()
            if not run.exited.is_set():
                self._orch._report(
                    self.module_id, "WARN", f"did not stop within {timeout:g} s; killing it"
                )
                await self.kill()
        assert run.exit_code is not None
        return run.exit_code

    async def kill(self) -> int:
        self._stopping = True
        run = self._run
        if run is None:
            raise ModuleUnavailable(f"module {self.module_id!r} was never started")
        if not run.exited.is_set():
            run.process.kill()
            await run.exited.wait()
        assert run.exit_code is not None
        return run.exit_code

    async def wait_exit(self, timeout: float = 10.0) -> int:
        """The exit code of the current process, once it exits."""
        run = self._run
        if run is None:
            raise ModuleUnavailable(f"module {self.module_id!r} was never started")
        try:
            with anyio.fail_after(timeout):
                await run.exited.wait()
        except TimeoutError:
            raise ModuleTimeoutError(
                f"module {self.module_id!r} still runs after {timeout:g} s"
            ) from None
        assert run.exit_code is not None
        return run.exit_code

    async def wait_crash(self, timeout: float = 10.0) -> ModuleCrashed:
        """The next unexpected exit (or the last one, if it already happened and no restart)."""
        if self.crashes and self._run is not None and self._run.exited.is_set():
            return self.crashes[-1]
        event = self._crash_event
        try:
            with anyio.fail_after(timeout):
                await event.wait()
        except TimeoutError:
            raise ModuleTimeoutError(f"module {self.module_id!r} did not crash") from None
        return self.crashes[-1]

    # -- requests -------------------------------------------------------------------------

    async def http(
        self,
        method: str,
        uri: str,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        timeout: float = 30.0,
    ) -> OrchestratorHttpResponse:
        """One HTTP exchange over stdio (``http_request`` → the module's response line)."""
        from pywatt.core.messages import HttpRequest, new_message_id

        self._require_running()
        request_id = new_message_id()
        msg = HttpRequest(
            request_id=request_id,
            method=method,
            uri=uri,
            headers=dict(headers or {}),
            body=body or None,
        )
        try:
            reply: StdioHttpResponse = await self._replies.request(
                ("http", request_id), lambda: self._send(msg), timeout
            )
        except TimeoutError:
            raise ModuleTimeoutError(
                f"module {self.module_id!r} did not answer {method} {uri} within {timeout:g} s"
            ) from None
        return OrchestratorHttpResponse(reply.status_code, dict(reply.headers), reply.body or b"")

    async def rotate(self, values: dict[str, str], timeout: float = 5.0) -> RotationAck:
        """Change secrets, send ``rotated``, and return the module's ``rotation_ack``."""
        from pywatt.core.messages import Rotated

        self._require_running()
        rotation_id = f"rot-{uuid.uuid4()}"
        for name, value in values.items():
            self._orch.secrets.set(name, value)
            self._rotation_ids[name] = rotation_id
        rotated = Rotated(keys=list(values), rotation_id=rotation_id)
        try:
            ack: RotationAck = await self._replies.request(
                ("rotation", rotation_id), lambda: self._send(rotated), timeout
            )
        except TimeoutError:
            raise ModuleTimeoutError(
                f"module {self.module_id!r} did not ack rotation {rotation_id} within {timeout:g} s"
            ) from None
        return ack

    async def push_secret(self, name: str, value: str) -> None:
        """Update the source and push the value unasked (the module caches it)."""
        from pywatt.core.messages import Secret

        self._orch.secrets.set(name, value)
        await self._send(Secret(name=name, value=value, rotation_id=self._rotation_ids.get(name)))

    async def wait_log(
        self, match: str | Callable[[ModuleLog], bool], timeout: float = 10.0
    ) -> ModuleLog:
        """The first stderr line (already seen or coming) with ``match`` in it, or matching."""
        check = match if callable(match) else (lambda log: log.matches(match))
        seen = 0
        try:
            with anyio.fail_after(timeout):
                while True:
                    event = self._log_event
                    for log in self.logs[seen:]:
                        if check(log):
                            return log
                    seen = len(self.logs)
                    await event.wait()
        except TimeoutError:
            raise ModuleTimeoutError(
                f"module {self.module_id!r} logged nothing matching {match!r} in {timeout:g} s"
            ) from None

    def _require_running(self) -> None:
        if not self.running:
            state = (
                "is restarting" if self.spec.restart and not self._stopping else "is not running"
            )
            code = f" (exit code {self.exit_code})" if self.exit_code is not None else ""
            raise ModuleUnavailable(f"module {self.module_id!r} {state}{code}")

    async def _send(self, msg: BaseModel) -> None:
        from pywatt.core.messages import encode

        await self._send_line(encode(msg))

    async def _send_line(self, line: bytes) -> None:
        stream = self._send_stream
        if stream is None:
            raise ModuleUnavailable(f"module {self.module_id!r} was never started")
        try:
            if isinstance(stream, StdinPipe):
                await stream.send_line(line)
            else:  # a stream a test put in its place
                await stream.send(line + b"\n")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            raise ModuleUnavailable(f"module {self.module_id!r} stdin is closed") from exc

    # -- readers --------------------------------------------------------------------------

    def _resolve_now(self, line: bytes | bytearray) -> bool:
        """Resolve an HTTP response in the reader callback; False leaves it to handle_line.

        The module writes the response wrapper with sorted keys, ``content`` first, so the
        first bytes pick out the lines worth decoding here; handle_line reports bad ones.
        """
        if not line.startswith(b'{"content"'):
            return False
        from pywatt.core.messages import StdioHttpResponse, decode_module_line

        try:
            msg = decode_module_line(line)
        except ProtocolError:
            return False
        if not isinstance(msg, StdioHttpResponse):
            return False
        self._resolve_http(msg)
        return True

    def _resolve_http(self, msg: StdioHttpResponse) -> None:
        if not self._replies.resolve(("http", msg.request_id), msg):
            self._orch._report(
                self.module_id, "WARN", f"HTTP response for unknown request {msg.request_id}"
            )

    async def _handle_stdout(self, line: bytes | bytearray | OversizedLine) -> None:
        if isinstance(line, OversizedLine):
            self._orch._report(self.module_id, "WARN", f"stdout: {line}")
            return
        await self.handle_line(line)

    async def _read_stderr(self, run: _Run, stream: ByteReceiveStream) -> None:
        lines = LineSplitter(_MAX_LOG_LINE)
        try:
            async for chunk in _chunks(stream):
                for line in lines.feed(chunk):
                    if isinstance(line, OversizedLine):
                        line = line.head + b"... [" + str(line).encode() + b"]"
                    self._add_log(run, line.decode("utf-8", errors="replace"))
            rest = lines.take_rest()
            if rest:
                self._add_log(run, rest.decode("utf-8", errors="replace"))
        finally:
            run.stderr_done.set()

    def _add_log(self, run: _Run, text: str) -> None:
        text = text.rstrip("\r")
        if not text:
            return
        run.tail.append(text)
        log = parse_stderr_line(self.module_id, text)
        self.logs.append(log)
        self._orch._emit(log)
        old, self._log_event = self._log_event, anyio.Event()
        old.set()

    async def handle_line(
        self, line: bytes | bytearray
    ) -> ModuleToOrchestrator | StdioHttpResponse | None:
        """Parse and act on one stdout line; returns what it was read as (None if unusable)."""
        from pywatt.core.messages import decode_module_line

        if not line or line.isspace():
            return None
        try:
            msg = decode_module_line(line)
        except ProtocolError as exc:
            shown = bytes(line[:200]).decode("utf-8", errors="replace")
            self.stdout_errors.append(shown)
            self._orch._report(self.module_id, "WARN", f"unreadable stdout line: {exc}", line=shown)
            return None
        await self._dispatch(msg)
        return msg

    async def _dispatch(self, msg: ModuleToOrchestrator | StdioHttpResponse) -> None:
        from pywatt.core import messages as m

        if isinstance(msg, m.StdioHttpResponse):
            self._resolve_http(msg)
        elif isinstance(msg, m.Announce):
            self.listen, self.endpoints = msg.listen, list(msg.endpoints)
            if self._run is not None:
                self._run.announced.set()
        elif isinstance(msg, m.GetSecret):
            await self._answer_secret(msg.name)
        elif isinstance(msg, m.RotationAck):
            if not self._replies.resolve(("rotation", msg.rotation_id), msg):
                self._orch._report(
                    self.module_id, "WARN", f"rotation_ack for unknown rotation {msg.rotation_id}"
                )
        elif isinstance(msg, m.PortRequest):
            port = self._orch._allocate_port(msg.specific_port, self.module_id)
            await self._send(m.PortResponse(request_id=msg.request_id, success=True, port=port))
        elif isinstance(msg, m.ServiceRequest):
            self._orch._task_group.start_soon(self._answer_service, msg)
        elif isinstance(msg, m.ServiceOperation):
            self._orch._task_group.start_soon(self._answer_operation, msg)
        elif isinstance(msg, m.RouteToModule):
            await self._orch._router.route(self.module_id, msg)
        elif isinstance(msg, m.HeartbeatAck):
            pass
        else:
            self._orch._report(
                self.module_id, "INFO", f"{msg.op} on stdout is not served by the dev orchestrator"
            )

    async def _answer_secret(self, name: str) -> None:
        from pywatt.core.messages import Secret

        value = self._orch.secrets.get(name)
        if value is None:
            # The protocol has no error reply: the module's get_secret times out after 5 s.
            self._orch._report(
                self.module_id, "WARN", f"module asked for unknown secret {name!r}; not answering"
            )
            return
        await self._send(Secret(name=name, value=value, rotation_id=self._rotation_ids.get(name)))

    async def _answer_service(self, msg: ServiceRequest) -> None:
        from pywatt.core.messages import ServiceResponse

        ok, connection_id, error = await self._orch.services.handle_request(msg)
        reply = ServiceResponse(
            id=msg.id,
            service_type=msg.service_type,
            success=ok,
            error=error,
            connection_id=connection_id,
        )
        try:
            await self._send(reply)
        except ModuleUnavailable:
            return

    async def _answer_operation(self, msg: ServiceOperation) -> None:
        from pywatt.cli.orchestrator.service_backends import operation_echo
        from pywatt.core.messages import ServiceOperationResult, encode

        ok, result, error = await self._orch.services.handle_operation(msg)
        body = encode(ServiceOperationResult(success=ok, result=result, error=error))
        line = body[:-1] + b',"params":' + operation_echo(msg) + b"}"
        try:
            await self._send_line(line)
        except ModuleUnavailable:
            return


async def _chunks(stream: ByteReceiveStream) -> Any:
    try:
        while True:
            yield await stream.receive(65536)
    except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
        return


def _tail_text(run: _Run) -> str:
    if not run.tail:
        return " It wrote nothing on stderr."
    return " Last stderr lines:\n" + "\n".join(f"  {line}" for line in run.tail)
