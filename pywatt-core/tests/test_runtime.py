from __future__ import annotations

import json

import anyio
import pytest

from pywatt.core.errors import (
    PortNegotiationError,
    SecretNotFoundError,
    SecretTimeoutError,
    SecretTypeError,
    ServiceError,
)
from pywatt.core.module import PyWattModule
from pywatt.core.plugins import build_plugins, hookimpl
from pywatt.core.secrets import CacheMode, Secret
from pywatt.core.testing import DEFAULT_INIT, ScriptedOrchestrator

pytestmark = pytest.mark.anyio

ANNOUNCE_NO_APP = b'{"op":"announce","listen":"127.0.0.1:0","endpoints":[]}'


@pytest.fixture
def plugins():
    return build_plugins(entry_points=[], env={})


def no_app_module(**kw) -> PyWattModule:
    return PyWattModule(None, **kw)


async def test_handshake_fetches_secrets_then_announces(plugins):
    module = no_app_module(secrets=["DB_URL", "API_KEY"])
    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        assert await orch.receive_line() == b'{"op":"get_secret","name":"DB_URL"}'
        await orch.send({"op": "secret", "name": "DB_URL", "value": "postgres://u:pw@h/db"})
        assert await orch.receive_line() == b'{"op":"get_secret","name":"API_KEY"}'
        await orch.send({"op": "secret", "name": "API_KEY", "value": "k-1"})
        assert await orch.receive_line() == ANNOUNCE_NO_APP
        ctx = await orch.context()
        assert ctx.state.user["API_KEY"].expose() == "k-1"
        assert ctx.config.module_id == "test-module"


async def test_init_without_op_is_accepted(plugins):
    init = {k: v for k, v in DEFAULT_INIT.items() if k != "op"}
    async with ScriptedOrchestrator(no_app_module(), init=init, plugins=plugins) as orch:
        assert await orch.receive_line() == ANNOUNCE_NO_APP


async def test_bad_init_fails_bootstrap(plugins):
    module = no_app_module()
    async with ScriptedOrchestrator(module, init="{not json", plugins=plugins) as orch:
        assert await orch.wait_exit() == 1
    assert orch.lines == []


async def test_eof_before_init_fails(plugins):
    module = no_app_module()
    async with ScriptedOrchestrator(module, send_init=False, plugins=plugins) as orch:
        await orch.close_stdin()
        assert await orch.wait_exit() == 1


async def test_state_builder_gets_config_and_secrets(plugins):
    seen = {}

    async def build(config, secrets):
        seen["module"] = config.module_id
        return {"token": secrets["T"].expose().upper()}

    module = no_app_module(secrets=["T"], state=build)
    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        await orch.answer_secrets({"T": "abc"})
        await orch.expect("announce")
        ctx = await orch.context()
        assert ctx.state.user == {"token": "ABC"}
        assert seen == {"module": "test-module"}


async def test_the_state_builder_finds_the_running_module_and_its_services(plugins):
    # Proxy backends opened while the state is built locate their client this way.
    from pywatt.core.module import current_module
    from pywatt.core.service_client import ServiceClient, current_service_client

    def build(config, secrets):
        return {"module": current_module().config.module_id, "client": current_service_client()}

    module = no_app_module(state=build)
    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        await orch.expect("announce")
        ctx = await orch.context()
        assert ctx.state.user["module"] == "test-module"
        assert isinstance(ctx.state.user["client"], ServiceClient)
        assert ctx.state.user["client"] is ctx.state.services


async def test_bad_lines_are_skipped_and_module_keeps_serving(plugins, caplog):
    module = no_app_module()
    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        await orch.expect("announce")
        ctx = await orch.context()
        for line in [
            "",
            "not json",
            "[1,2,3]",
            '{"op":"frobnicate"}',
            '{"op":7}',
            '{"no_op":true}',
            '{"op":"secret","name":"X"}',
            '{"op":"http_request","request_id":"r","method":"GET","uri":"/","headers":{},"body":"abc"}',
        ]:
            await orch.send(line)
        await orch.send({"op": "rotated", "keys": ["A"], "rotation_id": "rot-1"})
        # The invalid http_request still names its id: its caller gets a 400, not silence.
        rejected = await orch.receive()
        assert rejected["content"]["request_id"] == "r"
        assert rejected["content"]["status_code"] == 400
        assert await orch.receive_line() == (
            b'{"op":"rotation_ack","rotation_id":"rot-1","status":"success"}'
        )
        assert ctx.channel.errors == 8
    assert all(json.loads(line).get("op") or "content" in json.loads(line) for line in orch.lines)


async def test_shutdown_stops_the_module(plugins):
    module = no_app_module()
    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        await orch.expect("announce")
        await orch.send({"op": "shutdown"})
        assert await orch.wait_exit(timeout=2.5) == 0
        ctx = await orch.context()
        assert ctx.stop.reason == "shutdown"


async def test_eof_stops_the_module(plugins):
    module = no_app_module()
    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        await orch.expect("announce")
        await orch.close_stdin()
        assert await orch.wait_exit(timeout=2.5) == 0
        assert (await orch.context()).stop.reason == "eof"


async def test_lifecycle_hooks_fire_in_order(plugins):
    from pywatt.core import hookimpl

    events = []

    class Recorder:
        @hookimpl
        def pywatt_module_configured(self, config):
            events.append(("configured", config.module_id))

        @hookimpl
        def pywatt_module_started(self, state):
            events.append(("started", state.module_id))

        @hookimpl
        def pywatt_module_stopping(self, state, reason):
            events.append(("stopping", reason))

    plugins = build_plugins(entry_points=[], extra=[("rec", Recorder())], env={})
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        await orch.expect("announce")
        await orch.send({"op": "shutdown"})
        await orch.wait_exit()
    assert events == [
        ("configured", "test-module"),
        ("started", "test-module"),
        ("stopping", "shutdown"),
    ]


# -- secrets ------------------------------------------------------------------------------


async def _ready(orch):
    await orch.expect("announce")
    ctx = await orch.context()
    return ctx, ctx.state.extensions["secrets"]


async def test_secret_cache_modes(plugins):
    async with ScriptedOrchestrator(no_app_module(secrets=["K"]), plugins=plugins) as orch:
        await orch.answer_secrets({"K": "v1"})
        _ctx, secrets = await _ready(orch)
        # Cache hit: no I/O.
        assert (await secrets.get("K")).expose() == "v1"
        with pytest.raises(SecretNotFoundError, match="OTHER"):
            await secrets.get("OTHER", mode=CacheMode.CACHE_ONLY)
        async with anyio.create_task_group() as tg:
            result = {}

            async def fetch():
                result["s"] = await secrets.get("K", mode=CacheMode.FORCE_REMOTE)

            tg.start_soon(fetch)
            assert await orch.receive_line() == b'{"op":"get_secret","name":"K"}'
            await orch.send({"op": "secret", "name": "K", "value": "v2", "rotation_id": "r9"})
        assert result["s"].expose() == "v2"
        assert result["s"].rotation_id == "r9"
        assert (await secrets.get("K", mode=CacheMode.CACHE_ONLY)).expose() == "v2"


async def test_secret_timeout_really_fires(plugins):
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        _ctx, secrets = await _ready(orch)
        with anyio.fail_after(3):
            with pytest.raises(SecretTimeoutError, match=r"'MISSING' within 0\.3 s"):
                await secrets.get("MISSING", timeout=0.3)
        assert await orch.receive_line() == b'{"op":"get_secret","name":"MISSING"}'


async def test_unanswered_bootstrap_secret_fails_within_default_timeout(plugins):
    module = no_app_module(secrets=["NEVER"])
    start = anyio.current_time()
    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        await orch.expect("get_secret")
        assert await orch.wait_exit(timeout=8) == 1
    assert 4.5 <= anyio.current_time() - start < 7.5
    assert not any(b"announce" in line for line in orch.lines)


async def test_pushed_secret_updates_cache(plugins):
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        _ctx, secrets = await _ready(orch)
        await orch.send({"op": "secret", "name": "PUSHED", "value": "p"})
        with anyio.fail_after(2):
            while not secrets.cached("PUSHED"):
                await anyio.sleep(0.01)
        assert (await secrets.get("PUSHED", mode=CacheMode.CACHE_ONLY)).expose() == "p"


async def test_typed_secrets_convert_and_hide(plugins):
    from pydantic import BaseModel

    class Creds(BaseModel):
        user: str
        port: int

    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        _ctx, secrets = await _ready(orch)
        for name, value in {
            "N": " 42 ",
            "B": "TRUE",
            "F": "1.5",
            "C": '{"user":"ada","port":5432}',
            "BAD": "forty-two-secret",
        }.items():
            await orch.send({"op": "secret", "name": name, "value": value})
        with anyio.fail_after(2):
            while not secrets.cached("BAD"):
                await anyio.sleep(0.01)
        assert (await secrets.get("N", int)).expose() == 42
        assert (await secrets.get("B", bool)).expose() is True
        assert (await secrets.get("F", float)).expose() == 1.5
        creds = await secrets.get("C", Creds)
        assert creds.expose() == Creds(user="ada", port=5432)
        assert "ada" not in repr(creds)
        assert "ada" not in str(creds)
        assert "ada" not in f"{creds}"
        with pytest.raises(SecretTypeError) as info:
            await secrets.get("BAD", int)
        assert "forty-two-secret" not in str(info.value)


def test_secret_repr_never_shows_value():
    s = Secret("API", "hunter2")
    assert "hunter2" not in repr(s)
    assert "hunter2" not in str(s)
    assert "hunter2" not in f"{s!s} {s!r} {s}"
    assert s.expose() == "hunter2"
    assert s == Secret("API", "hunter2")
    assert s != Secret("API", "other")


async def test_rotation_invalidates_notifies_and_acks(plugins):
    async with ScriptedOrchestrator(no_app_module(secrets=["K"]), plugins=plugins) as orch:
        await orch.answer_secrets({"K": "old"})
        _ctx, secrets = await _ready(orch)
        seen = []

        async def async_sub(keys):
            seen.append(("async", keys))

        secrets.subscribe(lambda keys: seen.append(("sync", keys)))
        secrets.subscribe(async_sub)
        await orch.send({"op": "rotated", "keys": ["K"], "rotation_id": "rot-42"})
        assert await orch.receive_line() == (
            b'{"op":"rotation_ack","rotation_id":"rot-42","status":"success"}'
        )
        assert seen == [("sync", ["K"]), ("async", ["K"])]
        assert not secrets.cached("K")


async def test_failing_rotation_subscriber_acks_error(plugins):
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        _ctx, secrets = await _ready(orch)

        def boom(keys):
            raise RuntimeError("db reconnect failed")

        secrets.subscribe(boom)
        await orch.send({"op": "rotated", "keys": ["K"], "rotation_id": "r"})
        ack = await orch.expect("rotation_ack")
        assert ack == {
            "op": "rotation_ack",
            "rotation_id": "r",
            "status": "error",
            "message": "RuntimeError: db reconnect failed",
        }


# -- ports and services -------------------------------------------------------------------


async def test_port_negotiation_matches_request_id(plugins):
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        ctx, _ = await _ready(orch)
        ports = ctx.state.extensions["ports"]
        result = {}
        async with anyio.create_task_group() as tg:

            async def ask():
                result["port"] = await ports.request_port(4102)

            tg.start_soon(ask)
            req = await orch.expect("port_request")
            assert req["specific_port"] == 4102
            await orch.send(
                {
                    "op": "port_response",
                    "request_id": req["request_id"],
                    "success": True,
                    "port": 4102,
                    "error_message": None,
                }
            )
        assert result["port"] == 4102
        assert await ports.request_port() == 4102  # remembered, no I/O


async def test_port_refusal_is_a_typed_error(plugins):
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        ctx, _ = await _ready(orch)
        ports = ctx.state.extensions["ports"]
        async with anyio.create_task_group() as tg:

            async def ask():
                with pytest.raises(PortNegotiationError, match="port in use"):
                    await ports.request_port(80)

            tg.start_soon(ask)
            req = await orch.expect("port_request")
            await orch.send(
                {
                    "op": "port_response",
                    "request_id": "auto-assigned",
                    "success": False,
                    "port": 0,
                    "error_message": "port in use",
                }
            )
            assert req["request_id"] != "auto-assigned"


async def test_service_connect_and_operation(plugins):
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        ctx, _ = await _ready(orch)
        services = ctx.state.extensions["services"]
        out = {}
        async with anyio.create_task_group() as tg:

            async def use():
                conn = await services.connect("Database", {"db_type": "sqlite"})
                out["conn"] = conn
                out["rows"] = await services.operation(
                    conn, "Database", "query", {"params": [], "query": "SELECT 1"}
                )

            tg.start_soon(use)
            req = await orch.expect("service_request")
            assert req["id"].startswith("db_request_")
            await orch.send(
                {
                    "op": "service_response",
                    "id": req["id"],
                    "service_type": "Database",
                    "success": True,
                    "error": None,
                    "connection_id": "conn-1",
                }
            )
            op = await orch.expect("service_operation")
            assert op == {
                "op": "service_operation",
                "connection_id": "conn-1",
                "service_type": "Database",
                "operation": "query",
                "params": {"params": [], "query": "SELECT 1"},
            }
            # A result echoing another connection is not ours.
            await orch.send(
                {
                    "op": "service_operation_result",
                    "success": True,
                    "result": "wrong",
                    "error": None,
                    "params": {"connection_id": "conn-other"},
                }
            )
            await orch.send(
                {
                    "op": "service_operation_result",
                    "success": True,
                    "result": [{"data": {"x": 1}}],
                    "error": None,
                    "params": {k: v for k, v in op.items() if k != "op"},
                }
            )
        assert out == {"conn": "conn-1", "rows": [{"data": {"x": 1}}]}


async def test_service_result_without_echo_goes_to_the_single_pending_op(plugins):
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        ctx, _ = await _ready(orch)
        services = ctx.state.extensions["services"]
        out = {}
        async with anyio.create_task_group() as tg:

            async def use():
                out["r"] = await services.operation("c", "Cache", "get", {"key": "k"})

            tg.start_soon(use)
            await orch.expect("service_operation")
            await orch.send(
                {"op": "service_operation_result", "success": True, "result": "dg==", "error": None}
            )
        assert out["r"] == "dg=="


async def test_service_failure_and_timeout(plugins):
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        ctx, _ = await _ready(orch)
        services = ctx.state.extensions["services"]
        services._timeout = 0.3
        with pytest.raises(ServiceError, match=r"within 0\.3 s"):
            await services.operation("c", "Cache", "ping", {})
        async with anyio.create_task_group() as tg:

            async def use():
                with pytest.raises(ServiceError, match="no such db"):
                    await services.connect("Database")

            tg.start_soon(use)
            await orch.expect("service_operation")
            req = await orch.expect("service_request")
            await orch.send(
                {
                    "op": "service_response",
                    "id": req["id"],
                    "service_type": "Database",
                    "success": False,
                    "error": "no such db",
                    "connection_id": None,
                }
            )


async def test_http_request_without_app_gets_404(plugins):
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        await orch.expect("announce")
        await orch.send(
            '{"op":"http_request","request_id":"req-1","method":"GET","uri":"/x","headers":{},"body":null}'
        )
        reply = await orch.receive()
        assert reply["content"]["request_id"] == "req-1"
        assert reply["content"]["status_code"] == 404
        assert reply["metadata"]["properties"] == {"correlation_id": "req-1"}


async def test_http_request_before_the_announce_gets_503_not_silence(plugins):
    async with ScriptedOrchestrator(no_app_module(secrets=["K"]), plugins=plugins) as orch:
        assert await orch.receive_line() == b'{"op":"get_secret","name":"K"}'
        await orch.send(
            '{"op":"http_request","request_id":"early","method":"GET","uri":"/x","headers":{},"body":null}'
        )
        reply = await orch.receive()
        assert reply["content"]["request_id"] == "early"
        assert reply["content"]["status_code"] == 503
        assert reply["content"]["headers"]["retry-after"] == "1"
        assert b"has not announced" in bytes(reply["content"]["body"])
        await orch.send({"op": "secret", "name": "K", "value": "v"})
        assert await orch.receive_line() == ANNOUNCE_NO_APP
        # Once announced, the module's own handler answers (no app: 404).
        await orch.send(
            '{"op":"http_request","request_id":"late","method":"GET","uri":"/x","headers":{},"body":null}'
        )
        reply = await orch.receive()
        assert (reply["content"]["request_id"], reply["content"]["status_code"]) == ("late", 404)


async def test_missing_server_adapter_is_a_clear_error(plugins, caplog):
    module = PyWattModule(lambda state: object())
    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        assert await orch.wait_exit() == 1
    assert "no server adapter serves builtins.object; installed adapters: none" in caplog.text
    assert orch.lines == []


async def test_required_tcp_channel_without_plugin_fails(plugins, caplog):
    init = dict(
        DEFAULT_INIT, tcp_channel={"address": "127.0.0.1:9", "tls_enabled": False, "required": True}
    )
    async with ScriptedOrchestrator(no_app_module(), init=init, plugins=plugins) as orch:
        assert await orch.wait_exit() == 1
    assert "no 'tcp' channel plugin is installed" in caplog.text


async def test_state_exposes_the_sdk_clients(plugins):
    from pywatt.core.config import AppConfig
    from pywatt.core.errors import ConfigError
    from pywatt.core.state import AppState

    async with ScriptedOrchestrator(no_app_module(secrets=["K"]), plugins=plugins) as orch:
        await orch.answer_secrets({"K": "v"})
        ctx, secrets = await _ready(orch)
        assert ctx.state.secrets is secrets
        assert (await ctx.state.secrets.get("K")).expose() == "v"
        assert ctx.state.ports is ctx.state.extensions["ports"]
        assert ctx.state.services is ctx.state.extensions["services"]
    bare = AppState(config=AppConfig(module_id="m"), user=None)
    with pytest.raises(ConfigError, match="'secrets'"):
        _ = bare.secrets


async def test_optional_secret_falls_back_to_its_default(plugins):
    from pywatt.core.module import ServeOptions

    module = no_app_module(
        secrets={"REQUIRED": None, "GREETING": "Hello"}, options=ServeOptions(secret_timeout=0.3)
    )
    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        await orch.answer_secrets({"REQUIRED": "r"})
        assert await orch.receive_line() == b'{"op":"get_secret","name":"GREETING"}'
        await orch.expect("announce")  # GREETING never answered: its default is used
        ctx = await orch.context()
        assert ctx.state.user["GREETING"].expose() == "Hello"
        assert ctx.state.user["REQUIRED"].expose() == "r"


async def test_a_second_init_is_ignored_with_a_warning(plugins, caplog):
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        await orch.expect("announce")
        ctx = await orch.context()
        await orch.send(dict(DEFAULT_INIT, module_id="other"))
        await orch.send({"op": "rotated", "keys": [], "rotation_id": "after"})
        await orch.expect("rotation_ack")
        assert ctx.config.module_id == "test-module"
    assert "ignored a second init message" in caplog.text


class _DyingServerAdapter:
    """A third-party adapter whose socket server dies at once: the module must not hang."""

    name = "dying"

    def supports(self, app):
        return True

    def wrap(self, app):
        return _DyingRunner()


class _DyingRunner:
    async def startup(self):
        return None

    async def handle(self, request, respond=None):
        from pywatt.core.serving import HttpExchangeResponse

        return HttpExchangeResponse(200, {}, b"")

    async def serve(self, sock, *, stop, drain_timeout=10.0, limits=None):
        raise RuntimeError("listener died")

    async def shutdown(self):
        return None

    def endpoints(self):
        return []


async def test_a_dying_http_server_stops_the_module_with_status_1(caplog):
    from pywatt.core import hookimpl

    class Adapters:
        @hookimpl
        def pywatt_register_server_adapters(self, register):
            register("dying", _DyingServerAdapter())

    plugins = build_plugins(entry_points=[], extra=[("dying", Adapters())], env={})
    module = PyWattModule(lambda state: object())
    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        await orch.expect("announce")
        assert await orch.wait_exit() == 1
    assert "HTTP server failed" in caplog.text
    assert "listener died" in caplog.text


class _WrongKindPlugin:
    """Registers an encoder class where an instance belongs: refused at registration."""

    @staticmethod
    @hookimpl
    def pywatt_register_encoders(register):
        register("wrong", type("WrongEncoder", (), {"encode": None, "decode": None}))


@pytest.mark.parametrize("how", ["fails to import", "registers a wrong kind"])
async def test_a_module_starts_when_an_unrelated_plugin_is_broken(how):
    # The documented choice: a broken plugin is logged and taken out of service; a module that
    # needs none of its components starts and serves as usual.
    import importlib.metadata as md

    if how == "fails to import":
        broken = md.EntryPoint("broken", "pywatt_no_such_module_for_tests", "pywatt")
        plugins = build_plugins(entry_points=[broken], env={})
    else:
        plugins = build_plugins(entry_points=[], extra=[("broken", _WrongKindPlugin)], env={})
    assert [b.name for b in plugins.broken] == ["broken"]
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        assert await orch.receive_line() == ANNOUNCE_NO_APP
        await orch.send({"op": "shutdown"})
        assert await orch.wait_exit(timeout=2.5) == 0


def test_seed_plan_names_are_thin_aliases():
    from pywatt.core import EndpointInfo
    from pywatt.core.messages import EndpointInfo as WireEndpointInfo

    assert EndpointInfo is WireEndpointInfo
    secret = Secret("TOKEN", "t-1")
    assert secret.expose_secret() == secret.get_secret_value() == secret.expose() == "t-1"


async def test_async_lifecycle_hooks_are_awaited_by_the_runtime():
    seen: list[str] = []

    class Lifecycle:
        @staticmethod
        @hookimpl
        async def pywatt_module_configured(config):
            await anyio.sleep(0)
            seen.append(f"configured {config.module_id}")

        @staticmethod
        @hookimpl
        async def pywatt_module_started(state):
            await anyio.sleep(0)
            seen.append("started")

        @staticmethod
        @hookimpl
        async def pywatt_module_stopping(state, reason):
            await anyio.sleep(0)
            seen.append(f"stopping {reason}")

    plugins = build_plugins(entry_points=[], extra=[("life", Lifecycle)], env={})
    async with ScriptedOrchestrator(no_app_module(), plugins=plugins) as orch:
        assert await orch.receive_line() == ANNOUNCE_NO_APP
        await orch.send({"op": "shutdown"})
        assert await orch.wait_exit(timeout=10) == 0
    assert seen == [f"configured {DEFAULT_INIT['module_id']}", "started", "stopping shutdown"]


class _HangingAdapter:
    """Serves over stdio only; ``/hang`` never finishes, ``/fast`` answers at once."""

    name = "hanging"

    def supports(self, app):
        return True

    def wrap(self, app):
        return _HangingRunner()


class _HangingRunner:
    async def startup(self):
        return None

    async def handle(self, request, respond=None):
        from pywatt.core.serving import HttpExchangeResponse

        if request.uri == "/hang":
            await anyio.sleep_forever()
        return HttpExchangeResponse(200, {}, b"fast")

    async def shutdown(self):
        return None

    def endpoints(self):
        return []


async def test_requests_still_running_at_the_drain_deadline_are_answered_503(caplog):
    from pywatt.core import hookimpl
    from pywatt.core.module import ServeOptions

    class Adapters:
        @hookimpl
        def pywatt_register_server_adapters(self, register):
            register("hanging", _HangingAdapter())

    plugins = build_plugins(entry_points=[], extra=[("hanging", Adapters())], env={})
    options = ServeOptions(drain_timeout=0.3, bind_http=False)
    module = PyWattModule(lambda state: object(), options=options)
    request = {"op": "http_request", "method": "GET", "headers": {}, "body": None}
    async with ScriptedOrchestrator(module, plugins=plugins) as orch:
        await orch.expect("announce")
        # Two requests share an id (the orchestrator's ids need not be unique): each is
        # answered once.
        for rid, uri in [("h1", "/hang"), ("h1", "/hang"), ("h2", "/hang"), ("f", "/fast")]:
            await orch.send({**request, "request_id": rid, "uri": uri})
        fast = await orch.receive()
        assert (fast["content"]["request_id"], fast["content"]["status_code"]) == ("f", 200)
        await orch.send({"op": "shutdown"})
        cut = [await orch.receive() for _ in range(3)]
        assert await orch.wait_exit(timeout=3) == 0
    assert sorted(c["content"]["request_id"] for c in cut) == ["h1", "h1", "h2"]
    assert {c["content"]["status_code"] for c in cut} == {503}
    body = json.loads(bytes(cut[0]["content"]["body"]))
    assert body["message"] == "module stopped before the request finished"
    # Nothing more after the three: no second reply for any request.
    assert len([line for line in orch.lines if b'"content"' in line]) == 4
    assert "3 stdio requests still running at the drain deadline; answered 503" in caplog.text


async def test_control_channel_handler_tasks_end_with_its_task_group():
    from pywatt.core._stdio import MemorySink, MemorySource
    from pywatt.core.control import ControlChannel

    to_module, module_in = anyio.create_memory_object_stream[bytes](16)
    module_out, from_module = anyio.create_memory_object_stream[bytes](16)
    channel = ControlChannel(MemorySource(module_in), MemorySink(module_out))
    started = anyio.Event()
    cancelled = anyio.Event()

    async def handler(msg: object) -> None:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    channel.on("heartbeat", handler)
    with anyio.fail_after(5):
        async with to_module, module_in, module_out, from_module, anyio.create_task_group() as tg:
            tg.start_soon(lambda: channel.run(task_group=tg))
            await to_module.send(b'{"op":"heartbeat"}\n')
            await started.wait()
            tg.cancel_scope.cancel()
    assert cancelled.is_set()
