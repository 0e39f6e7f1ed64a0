"""§5.4 HTTP over TCP, both sides, against the protocol vectors on real sockets."""

from __future__ import annotations

import json
import logging
import uuid

import anyio
import pytest

from pywatt.comm import ConnectionConfig, RegisteredModule
from pywatt.comm.http_tcp import HttpTcpClient, serve_http_over_tcp
from pywatt.core.serving import HttpExchangeRequest, HttpExchangeResponse

pytestmark = pytest.mark.anyio

VECTOR_ID = b"6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
REQUEST_ID = b"123e4567-e89b-12d3-a456-426614174000"


def frame_of(vector: dict) -> bytes:
    return bytes.fromhex(vector["frame_hex"])


def reframed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + b"\x01" + data


def registered(orch) -> RegisteredModule:
    host, port = orch.address.rsplit(":", 1)
    return RegisteredModule.model_validate(
        {
            "info": {"name": "m", "version": "1", "description": "d"},
            "id": str(uuid.uuid4()),
            "token": "t",
            "orchestrator_host": host,
            "orchestrator_port": int(port),
        }
    )


async def not_found(request: HttpExchangeRequest) -> HttpExchangeResponse:
    if request.uri == "/boom":
        raise RuntimeError("handler exploded")
    body = json.dumps({"status": "error", "message": f"Not found: {request.uri}"},
                      separators=(",", ":")).encode()  # fmt: skip
    return HttpExchangeResponse(404, {"Content-Type": "application/json"}, body)


async def test_the_module_side_answers_with_the_vector_bytes(tcp_orchestrator, envelope_vectors):
    async with tcp_orchestrator() as orch, anyio.create_task_group() as tg:
        tg.start_soon(serve_http_over_tcp, registered(orch), not_found)
        peer = await orch.accept()
        # the request vector, for /nope: its response is the response vector
        request = frame_of(envelope_vectors["env.http_tcp.request"])[5:]
        await peer.send_frame(request.replace(b'"/status"', b'"/nope"'))
        header, data = await peer.receive_frame()
        envelope_id = json.loads(data)["id"].encode()
        expected = frame_of(envelope_vectors["env.http_tcp.response"])
        assert header + data == expected.replace(VECTOR_ID, envelope_id)
        # a failing handler is a 500; a request with a body carries it as bytes
        boom = {"id": str(uuid.uuid4()), "content": {"request_id": "r2", "method": "POST",
                "uri": "/boom", "headers": {}, "body": list(b"x")}, "metadata": {}}  # fmt: skip
        await peer.send(boom)
        reply = json.loads((await peer.receive_frame())[1])["content"]
        assert (reply["request_id"], reply["status_code"]) == ("r2", 500)
        assert bytes(reply["body"]) == b'{"status":"error","message":"internal error"}'
        await peer.aclose()  # the orchestrator goes: serving ends


async def test_the_client_side_sends_the_vector_bytes(tcp_orchestrator, envelope_vectors, caplog):
    caplog.set_level(logging.WARNING)
    async with tcp_orchestrator() as orch:
        client = HttpTcpClient(ConnectionConfig.from_address(orch.address))

        async def script() -> None:
            peer = await orch.accept()
            header, data = await peer.receive_frame()
            sent = json.loads(data)
            expected = frame_of(envelope_vectors["env.http_tcp.request"])
            expected = expected.replace(VECTOR_ID, sent["id"].encode())
            assert header + data == expected.replace(
                REQUEST_ID, sent["content"]["request_id"].encode()
            )
            await peer.send_frame(frame_of(envelope_vectors["env.http_tcp.response"])[5:])

        async with anyio.create_task_group() as tg:
            tg.start_soon(script)
            response = await client.request("GET", "/status")
        await client.aclose()
    assert response.status_code == 404
    assert response.body == b'{"status":"error","message":"Not found: /nope"}'
    assert "answers request" in caplog.text  # the vector's request_id is not ours: a warning
