"""``pywatt run``: the dev orchestrator, with one front HTTP proxy for all its modules.

The CLI's stdout is the user's terminal (not a protocol channel): ready lines go there, the
modules' logs and the proxy's access log go to stderr.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import signal
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
import click

from pywatt.cli.completion import complete_module_files

if TYPE_CHECKING:
    import uvicorn
    from anyio.abc import TaskGroup

    from pywatt.cli.gateway import Forwarder, ProxyApp
    from pywatt.cli.orchestrator import ModuleHandle, ModuleSpec, Orchestrator, SecretSource

__all__ = [
    "RunPlan",
    "Target",
    "check_broker",
    "derive_id",
    "parse_env",
    "plan_targets",
    "run_command",
]

Via = Literal["ipc", "http"]
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")
_POLL = 0.5
_DOC_PATHS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")


@dataclass(frozen=True)
class Target:
    """One module to run: its id, argv, and the file ``--reload`` watches (scripts only)."""

    module_id: str
    command: list[str]
    watch: Path | None = None


@dataclass(frozen=True)
class RunPlan:
    targets: list[Target]
    host: str = "127.0.0.1"
    port: int = 9900
    via: Via = "ipc"
    env: dict[str, str] = field(default_factory=dict)
    secrets_file: Path | None = None
    reload: bool = False
    listen: Literal["tcp", "unix"] = "tcp"
    stop_timeout: float = 10.0
    restart: bool = False
    #: "offered" (the default, as a production orchestrator does), "required" (``--routing``)
    #: or "none" (``--no-channel``).
    channel: Literal["offered", "required", "none"] = "offered"
    broker: str | None = None


def parse_env(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VAL`` options to a dict; the last one wins for a repeated key."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", key):
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--env")
        env[key] = value
    return env


def derive_id(command: Sequence[str]) -> str:
    """The id a command's module gets without ``--id``: a script's stem, ``-m``'s last part,
    else the program's name."""
    for arg in command[1:]:
        if arg.endswith(".py"):
            return Path(arg).stem
    if "-m" in command[:-1]:
        return command[command.index("-m") + 1].rsplit(".", 1)[-1]
    return Path(command[0]).stem


def plan_targets(
    scripts: Sequence[Path], commands: Sequence[str], ids: Sequence[str]
) -> list[Target]:
    """Scripts first, then ``--cmd`` commands, in the order given; ``--id``s name them in turn."""
    targets: list[Target] = []
    for script in scripts:
        targets.append(Target(script.stem, [sys.executable, str(script)], watch=script))
    for text in commands:
        argv = shlex.split(text)
        if not argv:
            raise click.BadParameter("an empty command", param_hint="--cmd")
        watch = next((Path(a) for a in argv[1:] if a.endswith(".py") and Path(a).is_file()), None)
        targets.append(Target(derive_id(argv), argv, watch=watch))
    if not targets:
        raise click.UsageError("nothing to run: give a module .py file or --cmd")
    if len(ids) > len(targets):
        raise click.BadParameter(f"{len(ids)} ids for {len(targets)} modules", param_hint="--id")
    targets = [
        Target(ids[i], t.command, t.watch) if i < len(ids) else t for i, t in enumerate(targets)
    ]
    seen: set[str] = set()
    for target in targets:
        if not _ID.match(target.module_id):
            raise click.BadParameter(
                f"module id {target.module_id!r} must be letters, digits, '.', '_', '~' or '-'",
                param_hint="--id",
            )
        if target.module_id in seen:
            raise click.BadParameter(
                f"two modules would both be {target.module_id!r}; name one with --id",
                param_hint="--id",
            )
        seen.add(target.module_id)
    return targets


def check_broker(plan: RunPlan) -> None:
    """Refuse a broker URL no module could use, before anything starts."""
    if plan.broker is None:
        return
    scheme, sep, _rest = plan.broker.partition("://")
    if not sep or not scheme:
        raise click.BadParameter(
            f"expected a URL such as nats://127.0.0.1:4222, got {plan.broker!r}",
            param_hint="--broker",
        )
    from pywatt.cli.orchestrator.orchestrator import broker_is_shared

    if len(plan.targets) > 1 and not broker_is_shared(plan.broker):
        raise click.BadParameter(
            f"{scheme}:// lives inside one process, so several modules would not share messages; "
            "use nats:// or redis://",
            param_hint="--broker",
        )


def _secret_source(plan: RunPlan) -> SecretSource:
    from pywatt.cli.orchestrator import SecretSource

    layers = [SecretSource.from_dict(plan.env)]
    if plan.secrets_file is not None:
        layers.append(SecretSource.from_dotenv(plan.secrets_file))
    return SecretSource.chain(*layers)


def _spec(plan: RunPlan, target: Target) -> ModuleSpec:
    from pywatt.cli.orchestrator import ModuleSpec

    return ModuleSpec(
        command=list(target.command),
        module_id=target.module_id,
        env=dict(plan.env),
        listen=plan.listen,
        restart=plan.restart,
        tcp_channel=plan.channel != "none",
        tcp_channel_required=plan.channel == "required",
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def _log_config() -> dict[str, Any]:
    """uvicorn's loggers, all on stderr (uvicorn's default puts the access log on stdout)."""
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "f"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"f": {"format": "[proxy] %(levelname)s %(message)s"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def _example_path(handle: Any) -> str:
    for endpoint in getattr(handle, "endpoints", None) or []:
        path = getattr(endpoint, "path", None)
        methods = getattr(endpoint, "methods", ["GET"])
        if isinstance(path, str) and path not in _DOC_PATHS and "GET" in methods:
            return path.lstrip("/")
    return ""


class Session:
    """The modules of one ``pywatt run``, the proxy in front of them, and their shutdown."""

    def __init__(self, plan: RunPlan, echo: Callable[[str], None]) -> None:
        self.plan = plan
        self.echo = echo
        self.handles: dict[str, ModuleHandle] = {}
        self.routes: dict[str, Forwarder] = {}
        self.stop = anyio.Event()
        self.phase: Literal["starting", "serving", "stopping"] = "starting"
        self.base_url = ""

    # -- modules --------------------------------------------------------------------------

    def _forwarder(self, handle: ModuleHandle) -> Forwarder:
        from pywatt.cli.gateway import HttpForwarder, IpcForwarder

        if self.plan.via == "http":
            return HttpForwarder(handle)
        return IpcForwarder(handle)

    async def _start_one(self, orch: Orchestrator, target: Target) -> None:
        handle = await orch.start(_spec(self.plan, target))
        self.handles[target.module_id] = handle
        old = self.routes.get(target.module_id)
        self.routes[target.module_id] = self._forwarder(handle)
        await _close(old)

    async def start_all(self, orch: Orchestrator) -> None:
        for target in self.plan.targets:
            await self._start_one(orch, target)

    async def stop_all(self) -> None:
        async with anyio.create_task_group() as tg:
            for handle in self.handles.values():
                tg.start_soon(self._stop_handle, handle)
        for forwarder in self.routes.values():
            await _close(forwarder)

    async def _stop_handle(self, handle: ModuleHandle) -> None:
        if handle.exit_code is None:
            await handle.stop(timeout=self.plan.stop_timeout)

    # -- proxy ----------------------------------------------------------------------------

    def bind(self) -> socket.socket:
        """Bind the proxy's socket before any module starts, so a busy port fails fast."""
        from pywatt.core.errors import ServerError

        try:
            sock = _bind(self.plan.host, self.plan.port)
        except OSError as exc:
            where = f"{self.plan.host}:{self.plan.port}"
            raise ServerError(f"cannot serve the proxy on {where}: {exc.strerror}") from exc
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{port}"
        return sock

    async def serve(self, tg: TaskGroup, sock: socket.socket) -> None:
        import uvicorn

        from pywatt.cli.gateway import ProxyApp
        from pywatt.core.errors import ServerError

        app = ProxyApp(self.routes, base_url=self.base_url)
        config = uvicorn.Config(app, lifespan="off", log_config=_log_config(), access_log=True)
        server = _server(config)
        done = anyio.Event()

        async def _serve() -> None:
            try:
                await server.serve(sockets=[sock])
            finally:
                done.set()
                self.stop.set()

        tg.start_soon(_serve)
        while not server.started and not done.is_set():
            await anyio.sleep(0.02)
        if done.is_set():
            raise ServerError("the proxy server stopped while starting (see its log above)")
        if self.phase == "starting":
            self.phase = "serving"
        self._print_ready(app)
        await self.stop.wait()
        server.should_exit = True
        await done.wait()

    def _print_ready(self, app: ProxyApp) -> None:
        for module_id in self.routes:
            self.echo(f"pywatt: ready — {module_id} → {self.base_url}/{module_id}/")
        first = next(iter(self.handles))
        example = f"{self.base_url}/{first}/{_example_path(self.handles[first])}"
        self.echo(f"pywatt: try `curl {example}` (`curl {self.base_url}/` lists modules)")
        self.echo("pywatt: Ctrl-C stops")

    # -- watching -------------------------------------------------------------------------

    async def watch(self, orch: Orchestrator) -> None:
        """Report modules that exit; with ``--reload``, restart a module whose file changed."""
        mtimes = {t.module_id: _mtime(t.watch) for t in self.plan.targets}
        reported: set[tuple[int, int]] = set()  # (handle, restart number) already reported
        while True:
            await anyio.sleep(_POLL)
            for target in self.plan.targets:
                handle = self.handles.get(target.module_id)
                if handle is not None and handle.exit_code is not None:
                    key = (id(handle), handle.restarts)
                    if key not in reported:
                        reported.add(key)
                        self.echo(f"pywatt: {target.module_id} exited with code {handle.exit_code}")
                if not self.plan.reload or target.watch is None:
                    continue
                now = _mtime(target.watch)
                if now == mtimes[target.module_id]:
                    continue
                mtimes[target.module_id] = now
                await self._restart(orch, target)

    async def _restart(self, orch: Orchestrator, target: Target) -> None:
        from pywatt.core.errors import PyWattError

        self.echo(f"pywatt: {target.watch} changed; restarting {target.module_id}")
        old = self.handles.get(target.module_id)
        if old is not None:
            await self._stop_handle(old)
        try:
            await self._start_one(orch, target)
        except (PyWattError, OSError) as exc:
            click.echo(f"pywatt: {target.module_id} failed to restart: {exc}", err=True)
            return
        self.echo(f"pywatt: reloaded — {target.module_id} → {self.base_url}/{target.module_id}/")


def _server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server without its own signal handling: ``pywatt run`` owns SIGINT/SIGTERM."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


def _mtime(path: Path | None) -> float | None:
    if path is None:
        return None
    try:
        return path.stat().st_mtime
    except OSError:
        return None


async def _close(forwarder: object) -> None:
    aclose = getattr(forwarder, "aclose", None)
    if aclose is not None:
        await aclose()


async def _watch_signals(session: Session, startup: anyio.CancelScope) -> None:
    """First signal: abandon startup, or stop serving; another while stopping kills modules."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            if session.phase == "starting":
                session.echo(f"pywatt: {name}; abandoning startup")
                session.phase = "stopping"
                startup.cancel()
            elif session.phase == "serving":
                session.echo(f"pywatt: {name}; stopping modules")
                session.phase = "stopping"
                session.stop.set()
            else:
                session.echo(f"pywatt: {name} again; killing modules")
                for handle in list(session.handles.values()):
                    await handle.kill()


async def run_session(plan: RunPlan, echo: Callable[[str], None]) -> int:
    """Start every module, serve the proxy until a signal, then stop modules gracefully."""
    from pywatt.cli.orchestrator import Orchestrator
    from pywatt.core.errors import PyWattError

    session = Session(plan, echo)
    try:
        sock = session.bind()
    except PyWattError as exc:
        click.echo(f"pywatt: error: {exc}", err=True)
        return 1
    code = 0
    orch = Orchestrator(
        _secret_source(plan),
        orchestrator_api=session.base_url,
        stop_timeout=plan.stop_timeout,
        broker_url=plan.broker,
    )
    startup = anyio.CancelScope()
    with sock:
        async with orch, anyio.create_task_group() as signals_tg:
            signals_tg.start_soon(_watch_signals, session, startup)
            with startup:
                async with anyio.create_task_group() as tg:
                    try:
                        await session.start_all(orch)
                        tg.start_soon(session.watch, orch)
                        await session.serve(tg, sock)
                    except (PyWattError, OSError) as exc:
                        click.echo(f"pywatt: error: {exc}", err=True)
                        code = 1
                    tg.cancel_scope.cancel()
            session.phase = "stopping"
            await session.stop_all()
            signals_tg.cancel_scope.cancel()
    return code


@click.command("run")
@click.argument(
    "modules",
    nargs=-1,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    shell_complete=complete_module_files,
)
@click.option("--cmd", "commands", multiple=True, help="Run this command line as a module.")
@click.option("--id", "ids", multiple=True, help="Module id, applied to modules in order.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Proxy address.")
@click.option(
    "--port", default=9900, show_default=True, type=click.IntRange(0, 65535), help="Proxy port."
)
@click.option(
    "--via",
    type=click.Choice(["ipc", "http"]),
    default="ipc",
    show_default=True,
    help="Forward over the module's stdin/stdout or to the socket it announced.",
)
@click.option(
    "--secrets",
    "secrets_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A .env file of secrets modules may ask for.",
)
@click.option(
    "--env", "env_pairs", multiple=True, metavar="KEY=VAL", help="Module env var and secret."
)
@click.option("--reload", is_flag=True, help="Restart a module when its file changes.")
@click.option(
    "--listen",
    type=click.Choice(["tcp", "unix"]),
    default="tcp",
    show_default=True,
    help="Socket each module serves HTTP on.",
)
@click.option(
    "--restart", is_flag=True, help="Restart a module that crashes, with backoff (up to 5 times)."
)
@click.option(
    "--routing",
    is_flag=True,
    help="Make each module's TCP channel required (a module that cannot connect fails).",
)
@click.option(
    "--no-channel",
    is_flag=True,
    help="Offer no TCP channel (by default every module is offered an optional one).",
)
@click.option(
    "--broker",
    metavar="URL",
    help="Broker URL handed to every module as PYWATT_BROKER_URL (nats://, redis://, memory://).",
)
def run_command(
    modules: tuple[Path, ...],
    commands: tuple[str, ...],
    ids: tuple[str, ...],
    host: str,
    port: int,
    via: Via,
    secrets_file: Path | None,
    env_pairs: tuple[str, ...],
    reload: bool,
    listen: Literal["tcp", "unix"],
    restart: bool,
    routing: bool,
    broker: str | None,
    no_channel: bool,
) -> None:
    """Run modules under the dev orchestrator behind one HTTP proxy.

    /<module_id>/<path> on the proxy reaches <path> of that module.
    """
    plan = RunPlan(
        targets=plan_targets(modules, commands, ids),
        host=host,
        port=port,
        via=via,
        env=parse_env(env_pairs),
        secrets_file=secrets_file,
        reload=reload,
        listen=listen,
        restart=restart,
        channel="none" if no_channel else "required" if routing else "offered",
        broker=broker,
    )
    check_broker(plan)
    sys.exit(anyio.run(run_session, plan, click.echo))
