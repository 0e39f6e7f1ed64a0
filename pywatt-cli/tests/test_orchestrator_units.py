"""The dev orchestrator's parts that need no subprocess: secrets, specs, logs, the stdout line
handler against every protocol vector, and the service backends."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from pywatt.cli.orchestrator import (
    ModuleLog,
    ModuleSpec,
    Orchestrator,
    SecretSource,
    ServiceBackends,
    parse_stderr_line,
)
from pywatt.cli.orchestrator.handle import ModuleHandle
from pywatt.core.errors import ConfigError

pytestmark = pytest.mark.anyio

VECTORS = Path(
    os.environ.get("PYWATT_PROTOCOL_VECTORS")
    or Path(__file__).resolve().parents[2] / "protocol" / "vectors"
)
M2O_LINES = [
    pytest.param(v["json"], id=v["name"])
    for v in json.loads((VECTORS / "ipc_vectors.json").read_text(encoding="utf-8"))
    if v["direction"] == "module_to_orchestrator" and v["valid"]
]
STDIO_HTTP_LINES = [
    pytest.param(v["json"], id=v["name"])
    for v in json.loads((VECTORS / "other_vectors.json").read_text(encoding="utf-8"))
    if v["name"].startswith("stdio.http_response_wrapper")
]
LOG_LINES = [
    pytest.param(line, id=f"{path.stem}:line{n}")
    for path in sorted(VECTORS.glob("*.jsonl"))
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
    if line.strip()
]


# --- secrets ---------------------------------------------------------------------------------


def test_dotenv_parsing(tmp_path):
    env = tmp_path / ".env"
    env.write_text(
        "# comment\n"
        "export API_KEY=abc123\n"
        'DB_URL="postgres://u:p@h/db" # trailing\n'
        "SINGLE='raw \\n stays'\n"
        'ESCAPED="line1\\nline2"\n'
        "PLAIN = spaced value  # note\n"
        "\n"
    )
    src = SecretSource.from_dotenv(env)
    assert src.get("API_KEY") == "abc123"
    assert src.get("DB_URL") == "postgres://u:p@h/db"
    assert src.get("SINGLE") == "raw \\n stays"
    assert src.get("ESCAPED") == "line1\nline2"
    assert src.get("PLAIN") == "spaced value"
    assert src.get("MISSING") is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("NOEQUALS\n", "expected KEY=VALUE"),
        ('A="open\n', "unterminated"),
        ("A='x' junk\n", "after"),
    ],
)
def test_dotenv_errors_name_the_line(tmp_path, text, error):
    env = tmp_path / ".env"
    env.write_text("OK=1\n" + text)
    with pytest.raises(ConfigError, match=rf"\.env:2: .*{error}"):
        SecretSource.from_dotenv(env)


def test_missing_dotenv_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read secrets file"):
        SecretSource.from_dotenv(tmp_path / "absent.env")


def test_env_chain_and_set(monkeypatch):
    monkeypatch.setenv("APP_TOKEN", "from-env")
    chained = SecretSource.chain(
        SecretSource.from_dict({"A": "dict"}), SecretSource.from_env("APP_")
    )
    assert chained.get("A") == "dict"
    assert chained.get("TOKEN") == "from-env"
    assert chained.get("NOPE") is None
    chained.set("TOKEN", "rotated")
    assert chained.get("TOKEN") == "rotated"
    assert "TOKEN" in chained
    with pytest.raises(ConfigError):
        SecretSource.from_dict({"A": 1})  # type: ignore[dict-item]


# --- spec --------------------------------------------------------------------------------------


def test_spec_for_script(tmp_path):
    script = tmp_path / "billing.py"
    script.write_text("")
    spec = ModuleSpec.for_script(script, env={"X": "1"})
    assert spec.command == [sys.executable, str(script)]
    assert spec.module_id == "billing"
    assert ModuleSpec.for_script(script, module_id="b2").module_id == "b2"
    with pytest.raises(ConfigError, match="does not exist"):
        ModuleSpec.for_script(tmp_path / "nope.py")
    with pytest.raises(ConfigError, match="listen"):
        ModuleSpec(command=["x"], module_id="m", listen="udp")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="empty"):
        ModuleSpec(command=[], module_id="m")


# --- stderr -----------------------------------------------------------------------------------


@pytest.mark.parametrize("line", LOG_LINES)
def test_stderr_samples_parse_as_json_logs(line):
    log = parse_stderr_line("m", line)
    data = json.loads(line)
    assert log.is_json
    assert log.level == data["level"]
    assert log.message == data["fields"]["message"]
    assert "message" not in log.fields
    assert str(log).startswith(f"[m] {data['level']} {data['target']}: ")


def test_raw_stderr_is_kept_as_text():
    log = parse_stderr_line("m", "[DEBUG peek_kind/JSON] Found metadata.id: 'x'")
    assert not log.is_json
    assert str(log) == "[m] [DEBUG peek_kind/JSON] Found metadata.id: 'x'"
    assert parse_stderr_line("m", '["not", "an object"]').is_json is False


def test_pretty_line_shows_fields():
    line = '{"level":"WARN","fields":{"message":"slow","ms":12,"path":"/a"},"target":"app"}'
    assert str(parse_stderr_line("web", line)) == "[web] WARN app: slow ms=12 path=/a"


# --- the stdout line handler against the vectors ------------------------------------------------


async def _handler_harness(orch: Orchestrator) -> tuple[ModuleHandle, list[bytes]]:
    handle = ModuleHandle(ModuleSpec(command=["unused"], module_id="vec"), orch)
    send, receive = anyio.create_memory_object_stream[bytes](100)
    handle._send_stream = send
    replies: list[bytes] = []

    async def collect() -> None:
        try:
            async with receive:
                async for item in receive:
                    replies.append(item)
        finally:
            await send.aclose()

    orch._task_group.start_soon(collect)
    return handle, replies


def test_vectors_were_found():
    assert len(M2O_LINES) >= 50
    assert len(STDIO_HTTP_LINES) >= 2


@pytest.mark.parametrize("line", M2O_LINES)
async def test_every_valid_m2o_vector_is_accepted(line):
    logs: list[ModuleLog] = []
    async with Orchestrator(log_sink=logs.append) as orch:
        handle, _ = await _handler_harness(orch)
        msg = await handle.handle_line(line.encode())
        assert handle.stdout_errors == []
        assert msg is not None
        assert msg.op == json.loads(line)["op"]  # type: ignore[union-attr]
        await anyio.sleep(0.05)


@pytest.mark.parametrize("line", STDIO_HTTP_LINES)
async def test_stdio_http_wrapper_and_garbage_lines(line):
    async with Orchestrator(log_sink=lambda _: None) as orch:
        handle, _ = await _handler_harness(orch)
        msg = await handle.handle_line(line.encode())
        assert msg is not None
        assert not hasattr(msg, "op")
        assert msg.request_id == json.loads(line)["content"]["request_id"]  # type: ignore[union-attr]
        for bad in (b"not json", b'{"op":"bogus"}', b'{"op":"announce"}'):
            assert await handle.handle_line(bad) is None
        assert len(handle.stdout_errors) == 3


async def test_handler_answers_secrets_ports_and_warns_on_unknown_secret():
    logs: list[ModuleLog] = []
    async with Orchestrator(SecretSource.from_dict({"K": "v"}), log_sink=logs.append) as orch:
        handle, replies = await _handler_harness(orch)
        await handle.handle_line(b'{"op":"get_secret","name":"NOPE"}')
        await handle.handle_line(b'{"op":"get_secret","name":"K"}')
        await handle.handle_line(b'{"op":"port_request","request_id":"r-1","specific_port":null}')
        await anyio.sleep(0.05)
    assert replies[0] == b'{"op":"secret","name":"K","value":"v"}\n'
    port = json.loads(replies[1])
    assert port["op"] == "port_response"
    assert port["request_id"] == "r-1"
    assert port["success"] is True
    assert 0 < port["port"] < 65536
    warn = [log for log in logs if log.level == "WARN"]
    assert "unknown secret 'NOPE'" in warn[0].message


# --- service backends ---------------------------------------------------------------------------


async def _op(services: ServiceBackends, conn: str, kind: str, op: str, **params):
    from pywatt.core.messages import ServiceOperation

    msg = ServiceOperation(connection_id=conn, service_type=kind, operation=op, params=params)
    return await services.handle_operation(msg)


async def _connect(services: ServiceBackends, kind: str) -> str:
    from pywatt.core.messages import ServiceRequest

    ok, conn, error = await services.handle_request(ServiceRequest(id="r", service_type=kind))
    assert ok, error
    assert conn is not None
    return conn


async def test_sqlite_database_operations_and_transactions():
    services = ServiceBackends()
    try:
        db = await _connect(services, "Database")
        q = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, data BLOB)"
        assert await _op(services, db, "Database", "execute", query=q, params=[]) == (True, 0, None)
        ins = "INSERT INTO t (name, data) VALUES (?, ?)"
        ok, n, _ = await _op(services, db, "Database", "execute", query=ins, params=["a", None])
        assert (ok, n) == (True, 1)
        ok, tx, _ = await _op(services, db, "Database", "begin_transaction")
        assert ok
        assert isinstance(tx, str)
        await _op(
            services,
            db,
            "Database",
            "transaction_execute",
            query=ins,
            params=["b", None],
            transaction_id=tx,
        )
        await _op(services, db, "Database", "transaction_rollback", transaction_id=tx)
        ok, rows, _ = await _op(
            services, db, "Database", "query", query="SELECT id, name FROM t ORDER BY id", params=[]
        )
        assert rows == [{"data": {"id": 1, "name": "a"}}]
        ok, tx2, _ = await _op(services, db, "Database", "begin_transaction")
        await _op(
            services,
            db,
            "Database",
            "transaction_execute",
            query=ins,
            params=["c", None],
            transaction_id=tx2,
        )
        assert (await _op(services, db, "Database", "transaction_commit", transaction_id=tx2))[0]
        one = await _op(
            services,
            db,
            "Database",
            "query_one",
            query="SELECT name FROM t WHERE id = ?",
            params=[2],
        )
        assert one == (True, {"data": {"name": "c"}}, None)
        none = await _op(
            services,
            db,
            "Database",
            "query_one",
            query="SELECT name FROM t WHERE id = ?",
            params=[99],
        )
        assert none == (True, None, None)
        ok, _, error = await _op(services, db, "Database", "query", query="SELEC nonsense")
        assert not ok
        assert "syntax error" in (error or "")
        ok, _, error = await _op(services, db, "Database", "frobnicate")
        assert (ok, error) == (False, "unknown Database operation 'frobnicate'")
        ok, _, error = await _op(services, "conn-nope", "Database", "ping")
        assert not ok
        assert "no database connection" in (error or "")
    finally:
        await services.aclose()


async def test_memory_cache_operations():
    services = ServiceBackends()
    c = await _connect(services, "Cache")
    b64 = base64.b64encode

    async def op(name: str, **params):
        ok, result, error = await _op(services, c, "Cache", name, **params)
        assert ok, error
        return result

    assert await op("get", key="k") is None
    await op("set", key="k", value=b64(b"v1").decode(), ttl_seconds=None)
    assert await op("get", key="k") == b64(b"v1").decode()
    assert await op("exists", key="k") is True
    assert await op("set_nx", key="k", value="eA==", ttl_seconds=5) is False
    assert await op("get_set", key="k", value=b64(b"v2").decode()) == b64(b"v1").decode()
    assert await op("increment", key="n", delta=5) == 5
    assert await op("increment", key="n", delta=-2) == 3
    await op("set_many", items={"a": "YQ==", "b": "Yg=="}, ttl_seconds=60)
    assert await op("get_many", keys=["a", "b", "zz"]) == {"a": "YQ==", "b": "Yg=="}
    assert await op("delete_many", keys=["a", "b", "zz"]) == 2
    token = await op("lock", key="job", ttl_seconds=30)
    assert isinstance(token, str)
    assert await op("lock", key="job", ttl_seconds=30) is None
    assert await op("unlock", key="job", lock_token="wrong") is False
    assert await op("unlock", key="job", lock_token=token) is True
    stats = await op("stats")
    assert (stats["hits"], stats["misses"]) == (3, 2)  # get_many counts too
    assert stats["item_count"] == 2  # k and n
    assert isinstance(stats["additional_metrics"], dict)
    assert await op("delete", key="k") is True
    ok, _, error = await _op(services, c, "Cache", "set", key="k", value="%%%")
    assert (ok, error) == (False, "parameter 'value' is not standard base64")
    ok, _, error = await _op(services, c, "Cache", "increment", key="k2")
    assert (ok, error) == (False, "missing parameter 'delta'")
    await services.aclose()


async def test_cache_ttl_expires():
    services = ServiceBackends()
    c = await _connect(services, "Cache")
    await _op(services, c, "Cache", "set", key="t", value="eA==", ttl_seconds=0)
    assert await _op(services, c, "Cache", "get", key="t") == (True, None, None)
    await services.aclose()


async def test_jwt_service_without_pywatt_auth_is_refused_with_a_reason(monkeypatch):
    from pywatt.core.messages import ServiceRequest

    monkeypatch.setitem(sys.modules, "pywatt.auth", None)  # as if pywatt-auth were absent
    ok, conn, error = await ServiceBackends().handle_request(
        ServiceRequest(id="r", service_type="Jwt")
    )
    assert (ok, conn) == (False, None)
    assert error == "the dev orchestrator's Jwt service needs pywatt-auth"


# --- the module's stdout pipe -------------------------------------------------------------------


async def test_stdout_pipe_resolves_in_the_callback_and_keeps_order_behind_a_slow_line():
    from pywatt.cli.orchestrator._pipes import StdoutPipe

    read, write = os.pipe()
    resolved: list[bytes] = []
    handled: list[bytes] = []

    def resolve_now(line: bytes | bytearray) -> bool:
        if line.startswith(b"fast"):
            resolved.append(bytes(line))
            return True
        return False

    async def handle_line(line: object) -> None:
        handled.append(bytes(line))  # type: ignore[call-overload]

    pipe = StdoutPipe(read, resolve_now, handle_line)
    async with anyio.create_task_group() as tg:
        tg.start_soon(pipe.run)
        os.write(write, b"fast-1\nslow-1\nfast-2\n")
        with anyio.fail_after(5):
            while len(handled) < 2:
                await anyio.sleep(0.01)
        os.write(write, b"fast-3\n")
        with anyio.fail_after(5):
            while len(resolved) < 2:
                await anyio.sleep(0.01)
        os.close(write)  # EOF: the reader task ends by itself
    assert resolved == [b"fast-1", b"fast-3"]
    assert handled == [b"slow-1", b"fast-2"]  # behind a waiting line, in order
