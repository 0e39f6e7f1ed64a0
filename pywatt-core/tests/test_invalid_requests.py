"""An ``http_request`` line that fails to decode still gets an answer when its id can be read."""

from __future__ import annotations

import json

import anyio
import pytest

from pywatt.core.module import PyWattModule
from pywatt.core.plugins import build_plugins
from pywatt.core.testing import ScriptedOrchestrator

HEAD = '{"op":"http_request","request_id":"%s","method":"GET","uri":"/x",'
INVALID = {
    "bad-body": (HEAD % "bad-body") + '"headers":{},"body":[256]}',
    "bad-header": (HEAD % "bad-header") + '"headers":{"a":1},"body":null}',
    "duplicate": (HEAD % "duplicate") + '"headers":{},"body":null,"method":"PUT"}',
    "not-json": (HEAD % "not-json") + '"headers":{},"body":NaN}',
    "cut-short": (HEAD % "cut-short") + '"headers":{',
    # The id after the body, where the reference may also put it.
    "late": '{"op":"http_request","method":"GET","uri":"/","headers":{},"body":[300],'
    '"request_id":"late"}',
}
UNIDENTIFIABLE = [
    '{"op":"http_request","request_id":5,"method":"GET","uri":"/","headers":{},"body":null}',
    '{"op":"http_request","method":"GET","uri":"/","headers":{},"body":null}',
    '{"op":"secret","request_id":"not-http","name":7}',
    "garbage",
]


@pytest.mark.parametrize(("request_id", "line"), INVALID.items(), ids=list(INVALID))
def test_an_identifiable_invalid_request_is_answered_400(request_id: str, line: str) -> None:
    async def scenario() -> dict[str, object]:
        plugins = build_plugins(entry_points=[], env={})
        async with ScriptedOrchestrator(PyWattModule(None), plugins=plugins) as orch:
            await orch.expect("announce")
            await orch.send_raw(line.encode() + b"\n")
            reply = await orch.receive()
            assert (await orch.context()).stop.stopping is False
            return reply

    reply = anyio.run(scenario)
    content = reply["content"]
    assert isinstance(content, dict)
    assert content["request_id"] == request_id
    assert content["status_code"] == 400
    body = json.loads(bytes(content["body"]))
    assert body["status"] == "error"
    assert body["message"].startswith("invalid http_request: ")


def test_a_request_without_a_readable_id_gets_no_answer_and_serving_goes_on() -> None:
    async def scenario() -> list[dict[str, object]]:
        plugins = build_plugins(entry_points=[], env={})
        async with ScriptedOrchestrator(PyWattModule(None), plugins=plugins) as orch:
            await orch.expect("announce")
            for line in UNIDENTIFIABLE:
                await orch.send_raw(line.encode() + b"\n")
            await orch.send({"op": "rotated", "keys": [], "rotation_id": "after"})
            seen = []
            while True:
                msg = await orch.receive()
                seen.append(msg)
                if msg.get("rotation_id") == "after":
                    return seen

    assert [m.get("op") for m in anyio.run(scenario)] == ["rotation_ack"]
