"""Composing and running a module: ``@pywatt_module`` and the lifecycle engine behind it.

Order (PROTOCOL.md §8 with the §9 choices): read init → fetch secrets → build state →
connect optional channels → build the app → bind the listener → announce → serve.
``identify`` is never sent.
"""

from __future__ import annotations

import contextvars
import gc
import inspect
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

import anyio
from anyio.abc import TaskGroup

from pywatt.core._bodies import error_body
from pywatt.core._lines import DEFAULT_MAX_LINE, KEEP_BYTES, Line
from pywatt.core.config import BROKER_URL_ENV, AppConfig
from pywatt.core.errors import ConfigError, InitError, PyWattError
from pywatt.core.lifecycle import (
    StopController,
    arm_exit_deadline,
    set_parent_death_signal,
    watch_parent,
    watch_signals,
)
from pywatt.core.state import AppState
from pywatt.core.telemetry import transport as _transport

if TYPE_CHECKING:
    import socket

    from pywatt.core._stdio import ByteSink, ByteSource
    from pywatt.core.control import ControlChannel
    from pywatt.core.health import HealthCheck
    from pywatt.core.messages import EndpointInfo, HttpRequest, InitBlob
    from pywatt.core.messaging import (
        EventHandler,
        ModuleBroker,
        ReplyHandler,
        ReplySpec,
        SubscriptionSpec,
    )
    from pywatt.core.plugins import Plugins
    from pywatt.core.secrets import Secret, SecretClient
    from pywatt.core.serving import (
        AppRunner,
        DiscoveredEndpoint,
        HttpExchangeRequest,
        HttpExchangeResponse,
    )

__all__ = ["ModuleContext", "PyWattModule", "ServeOptions", "current_module", "pywatt_module"]

logger = logging.getLogger("pywatt.core.module")

T = TypeVar("T")
StateBuilder = Callable[[AppConfig, "dict[str, Secret[str]]"], Any]
#: Secret names (all required), or a mapping of name to a default (``None``: required).
Secrets = Sequence[str] | Mapping[str, str | None]
AppFactory = Callable[[AppState[Any]], Any]


@dataclass(frozen=True)
class ServeOptions:
    """How the module serves HTTP.

    :param bind_http: serve on a socket as well as over stdio (False = IPC only).
    :param specific_port: bind this port instead of the one in ``init.listen``.
    :param negotiate_port: ask the orchestrator for a port (§7.1) instead of using ``listen``.
    :param drain_timeout: seconds in-flight requests, on stdio and the socket alike and with
        their background work, get to finish on shutdown or SIGTERM.
    :param eof_grace: seconds the module takes at most to exit after stdin closes.
    :param framework: server adapter name; by default the first adapter supporting the app.
    :param secret_timeout: seconds to wait for each ``secret`` reply (the reference's 5 s).
    :param header_timeout: seconds a socket client gets to send a request's headers, from
        its first byte or from connecting (None: no limit); then the connection is closed.
    :param keep_alive_timeout: seconds an idle keep-alive connection stays open.
    :param limit_concurrency: at most this many socket connections served at once (None: no
        limit); a request beyond it is answered 503 (uvicorn's limit, which also counts
        requests whose background work still runs).
    :param max_line: longest stdin line read, in bytes; a longer one is discarded unbuffered
        (an ``http_request`` gets a 413). HTTP bodies take about 3.6 line bytes per byte.
    """

    bind_http: bool = True
    specific_port: int | None = None
    negotiate_port: bool = False
    drain_timeout: float = 10.0
    eof_grace: float = 2.0
    framework: str | None = None
    secret_timeout: float = 5.0
    header_timeout: float | None = 10.0
    keep_alive_timeout: float = 5.0
    limit_concurrency: int | None = None
    max_line: int = DEFAULT_MAX_LINE


@dataclass
class ModuleContext:
    """Everything a running module has; handed to lifecycle code and tests."""

    init: InitBlob
    config: AppConfig
    channel: ControlChannel
    state: AppState[Any]
    stop: StopController
    listen: str = ""
    runner: AppRunner | None = None
    in_flight: int = 0
    #: Set while the module serves HTTP on its own socket: ask it to stop, and its end.
    http_stop: anyio.Event | None = None
    http_done: anyio.Event | None = None
    #: The operations routes (health, readiness, metrics) the adapter serves, announced too.
    operations: list[DiscoveredEndpoint] = field(default_factory=list)
    #: stdio requests not answered yet: their reply callbacks, each called at most once.
    unanswered: dict[object, Callable[[int, bytes], Awaitable[None]]] = field(default_factory=dict)

    def activate(self) -> None:
        """Make this the module :func:`current_module` finds in this context (and its tasks)."""
        _current.set(self)


_current: contextvars.ContextVar[ModuleContext] = contextvars.ContextVar("pywatt_module")
_last_started: list[ModuleContext] = []


def current_module() -> ModuleContext:
    """The running module's context, for code that has no state at hand (proxy backends).

    The one locator of the running module: its secrets, services and ports are
    ``current_module().state.secrets`` (``.services``, ``.ports``).

    Tasks started by the module see their own module; other threads see the last one started.
    """
    try:
        return _current.get()
    except LookupError:
        if _last_started:
            return _last_started[-1]
        raise ConfigError("no pywatt module is running in this process") from None


class PyWattModule(Generic[T]):
    """A module definition: its secrets, endpoints, state builder and app factory."""

    def __init__(
        self,
        app_factory: AppFactory | None,
        *,
        secrets: Secrets = (),
        endpoints: Sequence[EndpointInfo] | None = None,
        state: StateBuilder | None = None,
        options: ServeOptions | None = None,
        health: bool | str = True,
        metrics: bool | str | None = None,
        version: str | None = None,
    ) -> None:
        """See :func:`pywatt_module` for ``health``, ``metrics`` and ``version``."""
        self.app_factory = app_factory
        #: Secret name -> default; ``None`` means required (bootstrap fails without it).
        self.secret_defaults: dict[str, str | None] = (
            dict(secrets) if isinstance(secrets, Mapping) else dict.fromkeys(secrets)
        )
        self.endpoints = None if endpoints is None else list(endpoints)
        self.state_builder = state
        self.options = options or ServeOptions()
        self.context: ModuleContext | None = None
        self._ready = anyio.Event()
        self._eof_deadline = _EofDeadline()
        self.subscriptions: list[SubscriptionSpec] = []
        self.replies: list[ReplySpec] = []
        self.health = health if isinstance(health, str) else ("/health" if health else None)
        self.metrics = (
            metrics if isinstance(metrics, str) else (None if metrics is False else "/metrics")
        )
        self.metrics_required = metrics is not None and metrics is not False
        self.prefix = "" if not version else "/" + version.strip("/")
        self.health_checks: dict[str, tuple[HealthCheck, float]] = {}

    def health_check(
        self, name: str | None = None, *, timeout: float = 2.0
    ) -> Callable[[HealthCheck], HealthCheck]:
        """Add a readiness check: ``async def f() -> bool``; raising or ``False`` fails it.

        ``/ready`` answers 503 while any check fails or takes longer than ``timeout`` seconds.
        """

        def add(check: HealthCheck) -> HealthCheck:
            self.health_checks[str(name or getattr(check, "__name__", "check"))] = (check, timeout)
            return check

        return add

    def subscribe(
        self,
        subject: str,
        *,
        group: str | None = None,
        max_deliver: int = 5,
        ack_wait: float = 30.0,
        dead_letter: str | None = None,
        concurrency: int = 1,
    ) -> Callable[[EventHandler], EventHandler]:
        """Handle ``subject``'s broker messages: ``async def f(event)``; raising nacks.

        Replicas with the same ``group`` share the messages; see :class:`SubscribeOptions`.
        """
        from pywatt.core.brokers import SubscribeOptions
        from pywatt.core.messaging import SubscriptionSpec

        options = SubscribeOptions(group, max_deliver, ack_wait, dead_letter, concurrency)

        def add(handler: EventHandler) -> EventHandler:
            self.subscriptions.append(SubscriptionSpec(subject, handler, options))
            return handler

        return add

    def reply(
        self, subject: str, *, group: str | None = None
    ) -> Callable[[ReplyHandler], ReplyHandler]:
        """Answer broker requests on ``subject``: ``async def f(payload, state) -> answer``."""
        from pywatt.core.messaging import ReplySpec

        def add(handler: ReplyHandler) -> ReplyHandler:
            self.replies.append(ReplySpec(subject, handler, group))
            return handler

        return add

    def __call__(self, state: AppState[Any]) -> Any:
        if self.app_factory is None:
            raise ConfigError("this module has no app factory")
        return self.app_factory(state)

    def run(self) -> NoReturn:
        """Run the module on the process's stdin/stdout and exit with its status."""
        from pywatt.core.logs import capture_uncaught, configure_logging

        configure_logging()
        capture_uncaught()
        # What is loaded by now (the app's framework, pydantic, our own modules) lives as long
        # as the process: moved out of the collector's generations, the full collection that
        # start-up triggers, and every later one, no longer walks it (about 15 ms at start-up
        # for a FastAPI module). Objects without cycles are still freed by reference counting.
        gc.freeze()
        try:
            code = anyio.run(self._run_process)
        except Exception:
            # Never Python's raw traceback: it would bypass the redactor.
            logger.critical("module crashed", exc_info=True)
            code = 1
        logging.shutdown()
        sys.exit(code)

    async def serve_async(self, *, handle_signals: bool = False) -> int:
        """Run the module on this process's stdin/stdout inside the running event loop.

        For a module embedded in a larger async program: it returns the exit status when the
        module stops, and the program goes on. Unlike :meth:`run` it leaves logging, signal
        handlers (unless ``handle_signals``), the hard exit deadline and the garbage collector
        (``run`` freezes what is loaded at start) to the program.
        """
        from pywatt.core._stdio import FdSink, FdSource
        from pywatt.core.stdio_guard import claim_stdout, release_stdout

        protocol_out = claim_stdout()
        source = FdSource(0)
        try:
            return await self.serve(
                source, FdSink(protocol_out.fileno()), handle_signals=handle_signals
            )
        finally:
            source.close()
            release_stdout()

    async def _run_process(self) -> int:
        from pywatt.core._stdio import FdSink, FdSource
        from pywatt.core.stdio_guard import claim_stdout

        _explain_first_run()
        protocol_out = claim_stdout()
        set_parent_death_signal()
        source = FdSource(0, on_eof=lambda: self._eof_deadline.arm(self.options.eof_grace))
        return await self.serve(
            source, FdSink(protocol_out.fileno()), handle_signals=True, hard_exit=True
        )

    async def serve(
        self,
        source: ByteSource,
        sink: ByteSink,
        *,
        handle_signals: bool = False,
        hard_exit: bool = False,
        plugins: Plugins | None = None,
    ) -> int:
        """Run the whole lifecycle over ``source``/``sink``; returns the exit status."""
        from pywatt.core.control import ControlChannel
        from pywatt.core.redact import register_secret

        channel = ControlChannel(source, sink, max_line=self.options.max_line)
        try:
            init = await channel.read_init()
        except InitError as exc:
            _log_bootstrap_failure(exc)
            channel.close()
            return 1
        for value in init.env.values():
            register_secret(value)
        if init.auth_token:
            register_secret(init.auth_token)
        try:
            if plugins is None:
                from pywatt.core.plugins import get_plugins

                plugins = get_plugins()
            config = AppConfig.from_init(init)
            await plugins.hooks.module_configured(config)
        except (Exception, SystemExit) as exc:
            _log_bootstrap_failure(exc)
            channel.close()
            return 1
        # Until the module announces, an http_request gets a 503 at once instead of nothing:
        # the orchestrator may retry, and its caller is never left waiting.
        channel.on("http_request", lambda msg: _answer_starting(channel, init, msg))
        stop = StopController()
        code = 0
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._read_loop, channel, stop)
            if handle_signals:
                tg.start_soon(watch_signals, stop)
                tg.start_soon(watch_parent, stop)
            try:
                ctx = await self._start(tg, channel, init, config, stop, plugins)
            except (Exception, SystemExit) as exc:
                _log_bootstrap_failure(exc)
                channel.close()
                tg.cancel_scope.cancel()
                return 1
            self._ready.set()
            reason = await stop.wait()
            # A stop the module did not ask for itself (its HTTP server died) is a failure.
            code = 1 if reason == "error" else 0
            if hard_exit:
                grace = self.options.eof_grace
                # Broker handlers in flight are not counted in in_flight: give them the drain.
                busy = (
                    ctx.in_flight or ctx.http_done is not None or "broker" in ctx.state.extensions
                )
                if reason != "eof" and busy:
                    grace += self.options.drain_timeout + _SERVER_GRACE
                if reason != "eof":
                    self._eof_deadline.supersede()
                arm_exit_deadline(grace + 0.25, code=code)
            await self._stop(ctx, reason, plugins)
            tg.cancel_scope.cancel()
        return code

    async def wait_ready(self) -> ModuleContext:
        await self._ready.wait()
        assert self.context is not None
        return self.context

    # -- stages ---------------------------------------------------------------------------

    async def _read_loop(self, channel: ControlChannel, stop: StopController) -> None:
        async with anyio.create_task_group() as tg:
            reason = await channel.run(task_group=tg)
            stop.request(reason)
            await anyio.sleep_forever()

    async def _start(
        self,
        tg: TaskGroup,
        channel: ControlChannel,
        init: InitBlob,
        config: AppConfig,
        stop: StopController,
        plugins: Plugins,
    ) -> ModuleContext:
        from pywatt.core.ports import PortNegotiator
        from pywatt.core.secrets import SecretClient
        from pywatt.core.service_client import ServiceClient

        secrets_client = SecretClient(channel, timeout=self.options.secret_timeout)
        ports = PortNegotiator(channel)
        services = ServiceClient(channel)
        state: AppState[Any] = AppState(config=config, user=None)
        state.extensions.update(secrets=secrets_client, ports=ports, services=services)
        ctx = ModuleContext(init=init, config=config, channel=channel, state=state, stop=stop)
        self.context = ctx
        # Current before the state builder runs: it may open proxy backends, which find
        # their service client through current_module().
        ctx.activate()
        _last_started[:] = [ctx]
        fetched = {
            key: await _bootstrap_secret(secrets_client, key, default)
            for key, default in self.secret_defaults.items()
        }
        user_state: Any = fetched
        if self.state_builder is not None:
            user_state = self.state_builder(config, fetched)
            if inspect.isawaitable(user_state):
                user_state = await user_state
        state.user = user_state
        await self._connect_channels(tg, ctx, plugins)
        broker = await _connect_broker(self, ctx, plugins, secrets_client)
        sock: socket.socket | None = None
        if self.app_factory is not None:
            app = self.app_factory(state)
            if inspect.isawaitable(app):
                app = await app
            ctx.runner = _select_runner(app, self.options.framework, plugins)
            self._attach_operations(ctx)
            await ctx.runner.startup()
            if self.options.bind_http and not config.ipc_only:
                sock = await self._bind(init, ports)
        # The response's metadata.source, looked up once rather than per request.
        source = os.environ.get("PYWATT_MODULE_ID") or ctx.init.module_id
        channel.on("http_request", lambda msg: self._on_http(ctx, msg, source))
        channel.on_oversized = lambda line: self._reject(
            ctx,
            line.head,
            line.tail,
            413,
            f"request line of {line.size} bytes exceeds {line.limit} bytes",
        )
        channel.on_invalid = lambda line, exc: self._reject(
            ctx, line[:KEEP_BYTES], line[-KEEP_BYTES:], 400, f"invalid http_request: {exc}"
        )
        channel.on("init", _ignore_late_init)
        ctx.listen = self._announced_listen(init, sock)
        endpoints = self._endpoints(ctx)
        # A runner that knows what its app enforces refuses an announce claiming more auth.
        check_announced = getattr(ctx.runner, "check_announced", None)
        if check_announced is not None:
            check_announced(endpoints)
        from pywatt.core.messages import Announce

        await channel.send(Announce(listen=ctx.listen, endpoints=endpoints))
        logger.info("announced", extra={"listen": ctx.listen, "endpoints": len(endpoints)})
        if sock is not None and ctx.runner is not None:
            tg.start_soon(self._serve_socket, ctx, sock)
        if broker is not None:
            await broker.start(state, self.subscriptions, self.replies)
        await plugins.hooks.module_started(state)
        return ctx

    async def _connect_channels(self, tg: TaskGroup, ctx: ModuleContext, plugins: Plugins) -> None:
        """Connect the optional TCP/Unix channels of init through the channel plugins."""
        from pywatt.core.errors import ChannelError

        wanted = [("tcp", ctx.init.tcp_channel), ("unix", ctx.init.ipc_channel)]
        for name, cfg in wanted:
            if cfg is None:
                continue
            required = bool(getattr(cfg, "required", False))
            if name not in plugins.channels:
                detail = (
                    f"init asks for a {name} channel but no {name!r} channel plugin is installed"
                )
                if required:
                    raise ConfigError(detail + " (install pywatt-comm)")
                logger.warning("%s; continuing over stdio only", detail)
                continue
            channel = plugins.channels.get(name)(cfg)
            try:
                await channel.connect()
            except ChannelError as exc:
                if required:
                    raise
                logger.warning("optional %s channel unavailable: %s", name, exc)
                continue
            ctx.state.extensions[f"{name}_channel"] = channel
            tg.start_soon(channel.run, _ChannelHost(ctx))

    async def _bind(self, init: InitBlob, ports: Any) -> socket.socket:
        from pywatt.core.listen import bind_listener

        opts = self.options
        if opts.specific_port is not None:
            return bind_listener("127.0.0.1", opts.specific_port)
        if opts.negotiate_port:
            return bind_listener("127.0.0.1", await ports.request_port(None))
        if init.listen.is_tcp:
            return bind_listener("127.0.0.1", init.listen.port or 0)
        return bind_listener(str(init.listen.path), None)

    def _announced_listen(self, init: InitBlob, sock: socket.socket | None) -> str:
        from pywatt.core.listen import listener_address

        assigned = str(init.listen)
        if sock is None:
            return assigned
        if init.listen.is_tcp and init.listen.port and not self.options.specific_port:
            return assigned
        if not init.listen.is_tcp and not self.options.specific_port:
            return assigned
        return listener_address(sock)

    def _attach_operations(self, ctx: ModuleContext) -> None:
        """Have the server adapter serve ``/health``, ``/ready``, ``/metrics`` and the prefix."""
        from pywatt.core.health import Operations, builtin_checks

        assert ctx.runner is not None
        serve_operations = getattr(ctx.runner, "serve_operations", None)
        if serve_operations is None:
            if self.prefix:
                raise ConfigError(
                    f"version={self.prefix.lstrip('/')!r} needs a server adapter that serves "
                    f"route prefixes; {type(ctx.runner).__name__} does not"
                )
            return
        checks = {**builtin_checks(ctx.state, 2.0), **self.health_checks}
        ops = Operations(
            health=self.health,
            ready="/ready" if self.health else None,
            metrics=self.metrics,
            metrics_required=self.metrics_required,
            prefix=self.prefix,
            checks=checks,
            context=ctx,
        )
        ctx.operations = list(serve_operations(ops))

    def _endpoints(self, ctx: ModuleContext) -> list[EndpointInfo]:
        from pywatt.core.messages import EndpointInfo

        if self.endpoints is not None:
            found = [
                EndpointInfo(path=self._prefixed(e.path), methods=list(e.methods), auth=e.auth)
                for e in self.endpoints
            ]
        elif ctx.runner is None:
            found = []
        else:
            found = [
                EndpointInfo(path=self._prefixed(e.path), methods=list(e.methods), auth=e.auth)
                for e in ctx.runner.endpoints()
            ]
        paths = {e.path for e in found}
        for op in ctx.operations:
            if op.path not in paths:
                found.append(EndpointInfo(path=op.path, methods=list(op.methods), auth=None))
        return found

    def _prefixed(self, path: str) -> str:
        if not self.prefix or path == self.prefix or path.startswith(self.prefix + "/"):
            return path
        return self.prefix + ("" if path == "/" else path)

    async def _serve_socket(self, ctx: ModuleContext, sock: socket.socket) -> None:
        assert ctx.runner is not None
        from pywatt.core.serving import SocketLimits

        opts = self.options
        limits = SocketLimits(opts.header_timeout, opts.keep_alive_timeout, opts.limit_concurrency)
        http_stop = ctx.http_stop = anyio.Event()
        http_done = ctx.http_done = anyio.Event()
        try:
            await ctx.runner.serve(
                sock, stop=http_stop, drain_timeout=opts.drain_timeout, limits=limits
            )
        except Exception:
            logger.exception("HTTP server failed")
            ctx.stop.request("error")
        finally:
            http_done.set()
            sock.close()  # idempotent; the server may already have closed it

    async def _on_http(self, ctx: ModuleContext, msg: HttpRequest, source: str) -> None:
        from pywatt.core.messages import stdio_http_response
        from pywatt.core.serving import HttpExchangeRequest

        request = HttpExchangeRequest(
            method=msg.method, uri=msg.uri, headers=msg.headers, body=msg.body or b""
        )
        key = object()  # ids come from the orchestrator and need not be unique

        async def respond(response: HttpExchangeResponse) -> None:
            if ctx.unanswered.pop(key, None) is None:
                return  # already answered: by the app, or with a 503 when the drain ran out
            line = stdio_http_response(
                msg.request_id, response.status, response.headers, response.body, source=source
            )
            await ctx.channel.send_line(line)

        async def cut(status: int, body: bytes) -> None:
            from pywatt.core.serving import HttpExchangeResponse

            await respond(HttpExchangeResponse(status, dict(_JSON), body))

        ctx.unanswered[key] = cut
        try:
            response = await _handle_http(ctx, request, respond)
        except BaseException:
            ctx.unanswered.pop(key, None)
            raise
        await respond(response)  # a no-op when the runner already answered through respond

    async def _reject(
        self, ctx: ModuleContext, head: Line, tail: Line, status: int, message: str
    ) -> None:
        """Answer an ``http_request`` line that could not be read, so its caller never waits.

        A line too long to keep (413) or one that failed to decode (400) is known here only by
        its two ends; when those name an ``http_request`` and its id, the caller gets a reply.
        """
        from pywatt.core.messages import oversized_http_request_id, stdio_http_response

        request_id = oversized_http_request_id(bytes(head), bytes(tail))
        if request_id is None:
            return
        source = os.environ.get("PYWATT_MODULE_ID") or ctx.init.module_id
        body = error_body(message)
        reply = stdio_http_response(request_id, status, dict(_JSON), body, source=source)
        await ctx.channel.send_line(reply)

    async def _stop(self, ctx: ModuleContext, reason: str, plugins: Plugins) -> None:
        try:
            await plugins.hooks.module_stopping(ctx.state, reason)
        except Exception:
            logger.exception("module_stopping hook failed")
        http_stop = ctx.http_stop
        if http_stop is not None:
            http_stop.set()
        # One deadline for both transports. The socket server drains under the same one and
        # then cancels what is left itself; _SERVER_GRACE lets it do that before teardown.
        drain = self.options.eof_grace if reason == "eof" else self.options.drain_timeout
        deadline = anyio.current_time() + drain
        broker = ctx.state.extensions.get("broker")
        if broker is not None:
            await broker.aclose(drain)
        with anyio.move_on_at(deadline):
            while ctx.in_flight:
                await anyio.sleep(0.01)
        if ctx.unanswered:
            # Their callers would otherwise wait out their own timeouts for a reply that the
            # exit is about to make impossible: a definite 503 now, once each.
            logger.warning(
                "%d stdio requests still running at the drain deadline; answered 503",
                len(ctx.unanswered),
                extra={"drain_seconds": drain},
            )
            for cut in list(ctx.unanswered.values()):
                await cut(503, _CUT)
        http_done = ctx.http_done
        if http_done is not None:
            with anyio.move_on_at(deadline + _SERVER_GRACE):
                await http_done.wait()
        if ctx.runner is not None:
            with anyio.move_on_after(self.options.eof_grace):
                try:
                    await ctx.runner.shutdown()
                except Exception:
                    logger.exception("app shutdown failed")
        await ctx.channel.flush(timeout=0.5)
        ctx.channel.close()


class _EofDeadline:
    """The orchestrator is gone at EOF: exit within ``eof_grace`` however the app behaves.

    A graceful stop (``shutdown`` or a signal) that began first keeps its own, drain-long
    deadline: orchestrators close stdin right after sending ``shutdown``. ``arm`` runs on
    the stdin thread, hence the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._superseded = False

    def arm(self, seconds: float) -> None:
        with self._lock:
            if not self._superseded and self._timer is None:
                self._timer = arm_exit_deadline(seconds)

    def supersede(self) -> None:
        with self._lock:
            self._superseded = True
            if self._timer is not None:
                self._timer.cancel()


_SERVER_GRACE = 1.0
_STARTING = error_body("module is starting: it has not announced yet")
_UNAVAILABLE = error_body("module is shutting down")
_CUT = error_body("module stopped before the request finished")
_NO_APP = error_body("module serves no HTTP app")
_JSON = {"content-type": "application/json"}


async def _answer_starting(channel: ControlChannel, init: InitBlob, msg: HttpRequest) -> None:
    from pywatt.core.messages import stdio_http_response

    logger.warning(
        "http_request before the module announced; answered 503",
        extra={"request_id": msg.request_id},
    )
    source = os.environ.get("PYWATT_MODULE_ID") or init.module_id
    headers = {**_JSON, "retry-after": "1"}
    await channel.send_line(
        stdio_http_response(msg.request_id, 503, headers, _STARTING, source=source)
    )


async def _handle_http(
    ctx: ModuleContext,
    request: HttpExchangeRequest,
    respond: Callable[[HttpExchangeResponse], Awaitable[None]] | None = None,
    transport: str = "stdio",
) -> HttpExchangeResponse:
    """One HTTP-over-IPC exchange, from stdio or a channel, counted for draining.

    The runner may give ``respond`` the response before the app returns; the count lasts
    until the app returns, background work included.
    """
    from pywatt.core.serving import HttpExchangeResponse

    if ctx.stop.stopping:
        return HttpExchangeResponse(503, dict(_JSON), _UNAVAILABLE)
    if ctx.runner is None:
        return HttpExchangeResponse(404, dict(_JSON), _NO_APP)
    ctx.in_flight += 1
    token = _transport.set(transport)
    try:
        return await ctx.runner.handle(request, respond)
    finally:
        _transport.reset(token)
        ctx.in_flight -= 1


def _explain_first_run() -> None:
    """Started by hand in a terminal, a module would wait silently for an orchestrator's init.

    Say so once, on stderr, then keep waiting: scripted use (stdin a pipe) sees nothing new.
    """
    try:
        interactive = os.isatty(0)
    except OSError:
        return
    if not interactive:
        return
    script = os.path.relpath(sys.argv[0]) if sys.argv and sys.argv[0] else "<module file>"
    text = (
        "This is a PyWatt module: it is waiting for an orchestrator to send its init line on "
        "stdin, and will sit here until one does.\n"
        f"  Run it locally:   pywatt run {script}\n"
        "  Test it:          the pywatt pytest fixtures (see docs/testing.md)\n"
        "Press Ctrl-D or Ctrl-C to stop."
    )
    if os.isatty(2):
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    else:
        logger.warning(text.replace("\n", " "))


def _log_bootstrap_failure(exc: BaseException) -> None:
    """One redacted log line for any bootstrap failure, never Python's raw traceback.

    Our own errors explain themselves; anything else is a bug in user code (state builder,
    app factory, a hook), so its traceback goes into the line. ``sys.exit("message")`` counts:
    Python would print that message raw.
    """
    if isinstance(exc, (PyWattError, OSError)):
        logger.error("bootstrap failed: %s", exc, extra={"error": type(exc).__name__})
    else:
        logger.error(
            "bootstrap failed: %s: %s",
            type(exc).__name__,
            exc,
            exc_info=exc,
            extra={"error": type(exc).__name__},
        )


def _ignore_late_init(msg: Any) -> None:
    # The init line is read once; a later one changes nothing (as in the reference).
    logger.warning("ignored a second init message", extra={"module_id": msg.module_id})


class _ChannelHost:
    """The runtime's side of a channel plugin (see :class:`pywatt.core.contracts.ModuleChannel`)."""

    def __init__(self, ctx: ModuleContext) -> None:
        self._ctx = ctx

    @property
    def module_id(self) -> str:
        return self._ctx.config.module_id

    async def handle_http(self, request: HttpExchangeRequest) -> HttpExchangeResponse:
        return await _handle_http(self._ctx, request, transport="channel")

    def request_stop(self, reason: str) -> None:
        self._ctx.stop.request(reason)


async def _connect_broker(
    module: PyWattModule[Any], ctx: ModuleContext, plugins: Plugins, secrets: SecretClient
) -> ModuleBroker | None:
    """Connect the broker before announcing (see :mod:`pywatt.core.messaging`)."""
    needed = [s.subject for s in module.subscriptions] + [r.subject for r in module.replies]
    if not needed and not (ctx.config.env.get(BROKER_URL_ENV) or os.environ.get(BROKER_URL_ENV)):
        return None  # no broker: the messaging runtime is not even imported
    from pywatt.core.messaging import connect_module_broker

    broker = await connect_module_broker(ctx.config, plugins, secrets, required_by=needed)
    if broker is not None:
        ctx.state.extensions["broker"] = broker
    return broker


async def _bootstrap_secret(client: SecretClient, key: str, default: str | None) -> Secret[str]:
    """A required secret or its failure; an optional one falls back to its default."""
    from pywatt.core.errors import SecretTimeoutError
    from pywatt.core.redact import register_secret
    from pywatt.core.secrets import Secret

    try:
        return await client.get(key)
    except SecretTimeoutError:
        if default is None:
            raise
        logger.warning("orchestrator did not supply secret %s; using its default", key)
        register_secret(default)
        return Secret(key, default)


def _select_runner(app: Any, framework: str | None, plugins: Plugins) -> AppRunner:
    from pywatt.core.serving import choose_adapter

    runner: AppRunner = choose_adapter(plugins.server_adapters, app, framework).wrap(app)
    return runner


def pywatt_module(
    *,
    secrets: Secrets = (),
    endpoints: Sequence[EndpointInfo] | None = None,
    state: StateBuilder | None = None,
    options: ServeOptions | None = None,
    health: bool | str = True,
    metrics: bool | str | None = None,
    version: str | None = None,
) -> Callable[[AppFactory], PyWattModule[Any]]:
    """Turn an app factory ``(state) -> app`` into a runnable module: ``factory.run()``.

    :param health: serve ``/health`` (liveness) and ``/ready`` (readiness) unless the app has
        them; a string moves liveness to that path; ``False`` turns both off.
    :param metrics: serve Prometheus ``/metrics`` (needs ``pywatt-server[metrics]``); by default
        on when prometheus-client is installed; a string moves it; ``False`` turns it off.
    :param version: a route prefix (``"v1"``): the app's routes are served and announced under
        ``/v1``; ``/health``, ``/ready`` and ``/metrics`` stay at the root.
    """

    def wrap(factory: AppFactory) -> PyWattModule[Any]:
        return PyWattModule(
            factory,
            secrets=secrets,
            endpoints=endpoints,
            state=state,
            options=options,
            health=health,
            metrics=metrics,
            version=version,
        )

    return wrap
