"""The dev orchestrator against real subprocesses.

Most modules here are raw scripts that speak the wire protocol by hand (no pywatt import), so
each test controls exactly what the module does; one test runs a real ``PyWattModule``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time

import anyio
import pytest

from pywatt.cli.orchestrator import ModuleLog, ModuleSpec, Orchestrator, SecretSource
from pywatt.cli.orchestrator.errors import (
    ModuleCrashed,
    ModuleStartError,
    ModuleTimeoutError,
    ModuleUnavailable,
)

pytestmark = pytest.mark.anyio

PRELUDE = """\
import json, os, socket, struct, sys, time, uuid
def send(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\\n"); sys.stdout.flush()
def recv():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)
def log(message, **fields):
    print(json.dumps({"timestamp": "2026-01-01T00:00:00.000000Z", "level": "INFO",
                      "fields": {"message": message, **fields}, "target": "raw"}),
          file=sys.stderr, flush=True)
def announce(init, endpoints=()):
    send({"op": "announce", "listen": init["listen"], "endpoints": list(endpoints)})
"""


def raw_module(tmp_path, name: str, body: str) -> ModuleSpec:
    script = tmp_path / f"{name}.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    return ModuleSpec.for_script(script, announce_timeout=10)


async def test_handshake_init_env_and_announce(tmp_path):
    spec = raw_module(
        tmp_path,
        "hs",
        """
        init = recv()
        log("init", init=init, env_id=os.environ.get("PYWATT_MODULE_ID"), extra=os.environ["X"])
        announce(init, [{"path": "/a", "methods": ["GET"]}])
        recv()
    """,
    )
    spec = ModuleSpec(**{**spec.__dict__, "env": {"X": "1"}})
    logs: list[ModuleLog] = []
    async with Orchestrator(log_sink=logs.append) as orch:
        handle = await orch.start(spec)
        entry = await handle.wait_log("init", timeout=5)
        init = entry.fields["init"]
        assert init["op"] == "init"
        assert init["module_id"] == "hs"
        assert init["env"] == {"X": "1"}
        assert init["security_level"] == "None"
        assert "tcp_channel" not in init
        assert entry.fields["env_id"] == "hs"
        assert entry.fields["extra"] == "1"
        host, port = handle.http_address  # type: ignore[misc]
        assert init["listen"] == f"{host}:{port}" == handle.listen
        assert host == "127.0.0.1"
        assert [e.path for e in handle.endpoints] == ["/a"]
        assert orch.modules == {"hs": handle}
        assert await handle.stop(timeout=5) == 0
    assert any(log.message == "init" and str(log).startswith("[hs] INFO raw: init") for log in logs)


async def test_unix_listen_is_a_path(tmp_path):
    spec = raw_module(tmp_path, "ux", "init = recv(); announce(init); recv()\n")
    spec = ModuleSpec(**{**spec.__dict__, "listen": "unix"})
    async with Orchestrator(log_sink=lambda _: None) as orch:
        handle = await orch.start(spec)
        assert isinstance(handle.http_address, str)
        assert handle.http_address.endswith("/ux.sock")


async def test_secrets_answered_unknown_one_only_warned(tmp_path):
    spec = raw_module(
        tmp_path,
        "sec",
        """
        init = recv()
        send({"op": "get_secret", "name": "NOPE"})
        send({"op": "get_secret", "name": "API_KEY"})
        log("reply", reply=recv())
        announce(init)
        recv()
    """,
    )
    logs: list[ModuleLog] = []
    async with Orchestrator(SecretSource.from_dict({"API_KEY": "k1"}), log_sink=logs.append) as o:
        handle = await o.start(spec)
        reply = (await handle.wait_log("reply")).fields["reply"]
        assert reply == {"op": "secret", "name": "API_KEY", "value": "k1"}
    warnings = [log.message for log in logs if log.level == "WARN"]
    assert warnings == ["module asked for unknown secret 'NOPE'; not answering"]


async def test_port_request_gets_a_port_and_honours_a_free_specific_one(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    spec = raw_module(
        tmp_path,
        "ports",
        f"""
        init = recv()
        send({{"op": "port_request", "request_id": "p1", "specific_port": None}})
        log("any", reply=recv())
        send({{"op": "port_request", "request_id": "p2", "specific_port": {free}}})
        log("specific", reply=recv())
        announce(init)
        recv()
    """,
    )
    async with Orchestrator(log_sink=lambda _: None) as orch:
        handle = await orch.start(spec)
        first = (await handle.wait_log("any")).fields["reply"]
        assert first["op"] == "port_response"
        assert (first["request_id"], first["success"]) == ("p1", True)
        assert 1024 <= first["port"] <= 65535
        second = (await handle.wait_log("specific")).fields["reply"]
        assert (second["request_id"], second["port"]) == ("p2", free)


async def test_services_over_stdio_with_params_echo(tmp_path):
    spec = raw_module(
        tmp_path,
        "svc",
        """
        init = recv()
        announce(init)
        send({"op": "service_request", "id": "db_request_1", "service_type": "Database",
              "config": None})
        reply = recv()
        log("connected", reply=reply)
        conn = reply["connection_id"]
        def op(operation, **params):
            send({"op": "service_operation", "connection_id": conn,
                  "service_type": "Database", "operation": operation, "params": params})
            return recv()
        op("execute", query="CREATE TABLE n (v INTEGER)", params=[])
        op("execute", query="INSERT INTO n VALUES (?), (?)", params=[1, 2])
        log("rows", reply=op("query", query="SELECT SUM(v) AS s FROM n", params=[]))
        recv()
    """,
    )
    async with Orchestrator(log_sink=lambda _: None) as orch:
        handle = await orch.start(spec)
        connected = (await handle.wait_log("connected")).fields["reply"]
        assert connected["op"] == "service_response"
        assert connected["id"] == "db_request_1"
        assert connected["success"] is True
        assert connected["connection_id"].startswith("conn-db-")
        rows = (await handle.wait_log("rows")).fields["reply"]
        assert rows["op"] == "service_operation_result"
        assert rows["result"] == [{"data": {"s": 3}}]
        assert rows["params"]["connection_id"] == connected["connection_id"]
        assert rows["params"]["operation"] == "query"


async def test_concurrent_http_is_correlated_by_request_id(tmp_path):
    # The module collects five requests and answers them in reverse order.
    spec = raw_module(
        tmp_path,
        "rev",
        """
        init = recv()
        announce(init)
        pending = [recv() for _ in range(5)]
        for req in reversed(pending):
            body = req["uri"].encode()
            send({"content": {"body": list(body), "headers": {"x-m": req["method"]},
                              "request_id": req["request_id"], "status_code": 201},
                  "metadata": {"id": str(uuid.uuid4()),
                               "properties": {"correlation_id": req["request_id"]},
                               "source": "rev"}})
        recv()
    """,
    )
    async with Orchestrator(log_sink=lambda _: None) as orch:
        handle = await orch.start(spec)
        results: dict[str, bytes] = {}

        async def call(i: int) -> None:
            reply = await handle.http("POST", f"/item/{i}", body=b"x", timeout=10)
            assert reply.status == 201
            assert reply.headers == {"x-m": "POST"}
            results[f"/item/{i}"] = reply.body

        async with anyio.create_task_group() as tg:
            for i in range(5):
                tg.start_soon(call, i)
        assert results == {f"/item/{i}": f"/item/{i}".encode() for i in range(5)}
        assert handle.stdout_errors == []


async def test_garbage_stdout_is_recorded_not_fatal(tmp_path):
    spec = raw_module(
        tmp_path,
        "junk",
        """
        init = recv()
        print("oops, a stray print")
        sys.stdout.flush()
        announce(init)
        recv()
    """,
    )
    logs: list[ModuleLog] = []
    async with Orchestrator(log_sink=logs.append) as orch:
        handle = await orch.start(spec)
        assert handle.stdout_errors == ["oops, a stray print"]
        assert any("unreadable stdout line" in log.message for log in logs)


async def test_exit_before_announce_raises_with_stderr(tmp_path):
    spec = raw_module(
        tmp_path,
        "early",
        """
        recv()
        print("config file missing", file=sys.stderr, flush=True)
        sys.exit(7)
    """,
    )
    async with Orchestrator(log_sink=lambda _: None) as orch:
        with pytest.raises(ModuleStartError, match=r"exited with code 7 before announcing") as err:
            await orch.start(spec)
        assert "config file missing" in str(err.value)
        assert orch.modules == {}


async def test_announce_timeout_kills_the_module(tmp_path):
    spec = raw_module(
        tmp_path,
        "mute",
        """
        recv()
        print("stuck forever", file=sys.stderr, flush=True)
        time.sleep(60)
    """,
    )
    spec = ModuleSpec(**{**spec.__dict__, "announce_timeout": 1.0})
    async with Orchestrator(log_sink=lambda _: None) as orch:
        with pytest.raises(ModuleStartError, match=r"did not announce within 1 s") as err:
            await orch.start(spec)
        assert "stuck forever" in str(err.value)


async def test_crash_is_reported_and_http_refused(tmp_path):
    spec = raw_module(
        tmp_path,
        "crashy",
        """
        init = recv()
        announce(init)
        print("about to fail", file=sys.stderr, flush=True)
        time.sleep(0.2)
        sys.exit(3)
    """,
    )
    logs: list[ModuleLog] = []
    async with Orchestrator(log_sink=logs.append) as orch:
        handle = await orch.start(spec)
        crash = await handle.wait_crash(timeout=10)
        assert isinstance(crash, ModuleCrashed)
        assert crash.exit_code == handle.exit_code == 3
        assert crash.stderr_tail == ["about to fail"]
        with pytest.raises(ModuleUnavailable, match="is not running"):
            await handle.http("GET", "/")
    reported = [log for log in logs if log.target == "orchestrator" and log.level == "ERROR"]
    assert "exited with code 3" in reported[0].message
    assert "about to fail" in reported[0].message


async def test_restart_with_backoff_then_give_up(tmp_path):
    spec = raw_module(
        tmp_path,
        "flaky",
        """
        init = recv()
        announce(init)
        sys.exit(4)
    """,
    )
    spec = ModuleSpec(**{**spec.__dict__, "restart": True, "max_restarts": 2})
    logs: list[ModuleLog] = []
    async with Orchestrator(log_sink=logs.append) as orch:
        handle = await orch.start(spec)
        first_pid = handle.pid
        with anyio.fail_after(20):
            while not any("giving up" in log.message for log in logs):
                await anyio.sleep(0.05)
        assert handle.restarts == 2
        assert handle.pid != first_pid
        assert len(handle.crashes) == 3
        delays = [log.message for log in logs if log.message.startswith("restarting in")]
        assert delays == ["restarting in 0.5 s", "restarting in 1 s"]


async def test_stop_kills_a_module_that_ignores_shutdown(tmp_path):
    spec = raw_module(
        tmp_path,
        "stubborn",
        """
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        init = recv()
        announce(init)
        for line in sys.stdin:
            pass
        time.sleep(60)
    """,
    )
    async with Orchestrator(log_sink=lambda _: None) as orch:
        handle = await orch.start(spec)
        started = time.monotonic()
        code = await handle.stop(timeout=1.0)
        assert code == -signal.SIGKILL
        assert time.monotonic() - started < 8  # the 1 s deadline plus a generous margin


async def test_tcp_channel_routing_and_reply_extension(tmp_path):
    channel = """
        init = recv()
        host, port = init["tcp_channel"]["address"].rsplit(":", 1)
        sock = socket.create_connection((host, int(port)))
        def send_frame(content):
            data = json.dumps({"id": str(uuid.uuid4()), "content": content,
                               "metadata": {}}).encode()
            sock.sendall(struct.pack(">IB", len(data), 1) + data)
        def recv_frame():
            head = b""
            while len(head) < 5:
                head += sock.recv(5 - len(head))
            length, _ = struct.unpack(">IB", head)
            data = b""
            while len(data) < length:
                data += sock.recv(length - len(data))
            return json.loads(data)
        def payload(obj):
            return {"data": list(json.dumps(obj).encode()), "format": "Json"}
        announce(init)
    """
    a = raw_module(
        tmp_path,
        "alpha",
        channel
        + """
        recv()  # the test's go-ahead: a fake http_request
        rid = str(uuid.uuid4())
        send_frame({"op": "route_to_module", "target_module_id": "beta",
                    "target_endpoint": "ping", "request_id": rid, "payload": payload({"n": 1})})
        log("reply", frame=recv_frame(), rid=rid)
        recv()
    """,
    )
    b = raw_module(
        tmp_path,
        "beta",
        channel
        + """
        msg = recv_frame()
        log("got", frame=msg)
        body = json.loads(bytes(msg["payload"]["data"]))
        send_frame({"op": "route_to_module", "target_module_id": msg["source_module_id"],
                    "target_endpoint": "__pywatt_reply__",
                    "request_id": msg["original_request_id"],
                    "payload": payload({"n": body["n"] + 1})})
        recv()
    """,
    )
    a = ModuleSpec(**{**a.__dict__, "tcp_channel": True})
    b = ModuleSpec(**{**b.__dict__, "tcp_channel": True})
    async with Orchestrator(log_sink=lambda _: None) as orch:
        alpha, beta = await orch.start(a), await orch.start(b)
        await orch.wait_channel("alpha")
        await orch.wait_channel("beta")
        with pytest.raises(ModuleTimeoutError):  # the module takes it as a go-ahead only
            await alpha.http("GET", "/go", timeout=0.2)
        got = (await beta.wait_log("got")).fields["frame"]
        assert got["op"] == "routed_module_message"
        assert got["source_module_id"] == "alpha"
        assert json.loads(bytes(got["payload"]["data"])) == {"n": 1}
        entry = await alpha.wait_log("reply")
        frame = entry.fields["frame"]
        assert frame["op"] == "routed_module_response"
        assert frame["source_module_id"] == "beta"
        assert frame["request_id"] == entry.fields["rid"] == got["original_request_id"]
        assert json.loads(bytes(frame["payload"]["data"])) == {"n": 2}
        assert [f.op for f in alpha.channel_frames] == ["route_to_module"]
        assert [f.op for f in beta.channel_frames] == ["route_to_module"]


async def test_real_sdk_module_secret_rotation_http_and_stop(tmp_path):
    script = tmp_path / "sdkmod.py"
    script.write_text(
        textwrap.dedent("""\
        import logging
        from pywatt.core import PyWattModule

        async def build(config, secrets):
            return {"key_len": len(secrets["API_KEY"].expose())}

        app = PyWattModule(None, secrets=["API_KEY"], state=build)

        if __name__ == "__main__":
            app.run()
        """)
    )
    source = SecretSource.from_dict({"API_KEY": "first"})
    async with Orchestrator(source, log_sink=lambda _: None) as orch:
        handle = await orch.start(ModuleSpec.for_script(script))
        assert handle.listen is not None
        reply = await handle.http("GET", "/anything")
        assert reply.status == 404
        assert reply.json()["message"] == "module serves no HTTP app"
        ack = await handle.rotate({"API_KEY": "second"})
        assert ack.status == "success"
        assert ack.rotation_id.startswith("rot-")
        assert source.get("API_KEY") == "second"
        started = time.monotonic()
        assert await handle.stop(timeout=10) == 0
        assert time.monotonic() - started < 10
        assert handle.stdout_errors == []
        assert any("announced" in log.message for log in handle.logs)
    assert handle.pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(handle.pid, 0)


async def test_http_via_socket(tmp_path):
    spec = raw_module(
        tmp_path,
        "sock",
        """
        init = recv()
        host, port = init["listen"].rsplit(":", 1)
        server = socket.create_server((host, int(port)))
        announce(init)
        conn, _ = server.accept()
        request = b""
        while b"\\r\\n\\r\\n" not in request:
            request += conn.recv(4096)
        line = request.split(b"\\r\\n", 1)[0].decode()
        body = ("you sent " + line).encode()
        conn.sendall(b"HTTP/1.1 200 OK\\r\\ntransfer-encoding: chunked\\r\\nx-raw: 1\\r\\n\\r\\n"
                     + b"%x\\r\\n" % len(body) + body + b"\\r\\n0\\r\\n\\r\\n")
        conn.close()
        recv()
    """,
    )
    async with Orchestrator(log_sink=lambda _: None) as orch:
        await orch.start(spec)
        reply = await orch.http_via_socket("sock", "GET", "/path?q=1")
        assert reply.status == 200
        assert reply.headers["x-raw"] == "1"
        assert reply.body == b"you sent GET /path?q=1 HTTP/1.1"
        with pytest.raises(ModuleUnavailable, match="no module 'nope'; running: sock"):
            await orch.http_via_socket("nope", "GET", "/")


async def test_a_stopped_module_id_can_be_started_again(tmp_path):
    from pywatt.cli.orchestrator import ModuleSpec, Orchestrator, SecretSource
    from pywatt.core.errors import ConfigError

    script = tmp_path / "again.py"
    script.write_text("from pywatt.core import PyWattModule\nPyWattModule(None).run()\n")
    env = {"PYWATT_LOAD_PLUGINS": "core"}
    spec = ModuleSpec([sys.executable, str(script)], "again", env=env)
    async with Orchestrator(SecretSource.from_dict({}), log_sink=lambda log: None) as orch:
        first = await orch.start(spec)
        with pytest.raises(ConfigError, match="already running"):
            await orch.start(spec)
        assert await first.stop(timeout=10) == 0
        second = await orch.start(spec)
        assert second is not first
        assert second.pid != first.pid
        assert orch.modules["again"] is second
